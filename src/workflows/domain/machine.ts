import { and, AnyStateMachine, setup, transition } from 'xstate';
import type { WorkflowDefinition } from './workflow-definition';
import { evaluateGuard, GuardFacts, guardName } from './guards';

/** The event a stage machine receives: the bureau's event name plus the facts its guards judge. */
export interface StageEvent {
  type: string;
  facts: GuardFacts;
}

export interface StageMachine {
  machine: AnyStateMachine;
  /** The plain statechart config the machine was built from (served by GET /api/workflows/:id). */
  config: Record<string, unknown>;
}

const cache = new WeakMap<WorkflowDefinition, StageMachine>();

function guardImpl(name: string) {
  return ({ event }: { event: StageEvent }, params: unknown) =>
    evaluateGuard({ [name]: params } as any, event.facts) === null;
}

/**
 * A workflow definition as an XState v5 machine: one state per stage, one transition
 * per declared transition, guarded by named, parameterised guards (and-ed). Guard
 * implementations are provided apart from the config; they judge only the event's facts.
 */
export function buildStageMachine(def: WorkflowDefinition): StageMachine {
  const hit = cache.get(def);
  if (hit) return hit;
  const states: Record<string, any> = {};
  for (const stage of def.stages) {
    if (stage.final) {
      states[stage.id] = { type: 'final' };
      continue;
    }
    const on: Record<string, any[]> = {};
    for (const t of stage.transitions ?? []) {
      const refs = (t.guards ?? []).map((g) => ({ type: guardName(g), params: (g as any)[guardName(g)] }));
      const candidate: Record<string, unknown> = { target: t.target };
      if (refs.length === 1) candidate.guard = refs[0];
      else if (refs.length > 1) candidate.guard = refs;
      (on[t.event] ??= []).push(candidate);
    }
    states[stage.id] = { on };
  }
  const config = { id: `${def.id}@${def.version}`, initial: def.initial, states };
  // XState wants guard combinators, not arrays; the served config keeps the readable array form.
  const machineConfig = {
    ...config,
    states: Object.fromEntries(
      Object.entries(states).map(([id, s]) => [
        id,
        s.on
          ? {
              on: Object.fromEntries(
                Object.entries(s.on as Record<string, any[]>).map(([ev, cands]) => [
                  ev,
                  cands.map((c) => (Array.isArray(c.guard) ? { ...c, guard: and(c.guard) } : c)),
                ]),
              ),
            }
          : s,
      ]),
    ),
  };
  const machine = setup({
    types: {} as { events: StageEvent },
    guards: {
      allUnitsSubmitted: guardImpl('allUnitsSubmitted'),
      allUnitsApproved: guardImpl('allUnitsApproved'),
      after: guardImpl('after'),
      evaluationClosed: guardImpl('evaluationClosed'),
      minTurnout: guardImpl('minTurnout'),
    } as any,
  }).createMachine(machineConfig as any);
  const built = { machine, config };
  cache.set(def, built);
  return built;
}

/**
 * Where `event` takes the campaign from `stage`, by XState's pure transition function
 * (no actor is ever started). null when no transition is enabled.
 */
export function nextStage(def: WorkflowDefinition, stage: string, event: StageEvent): { to: string; final: boolean } | null {
  const { machine } = buildStageMachine(def);
  const snapshot = machine.resolveState({ value: stage, context: {} } as any);
  if (!snapshot.can(event as any)) return null;
  const [next] = transition(machine, snapshot, event as any);
  const to = String(next.value);
  return { to, final: next.status === 'done' };
}
