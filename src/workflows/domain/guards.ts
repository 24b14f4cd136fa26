import type { GuardDefinition, GuardName } from './workflow-definition';
import { addDuration } from './duration';

export type UnitStatus = 'missing' | 'submitted' | 'approved' | 'returned';

/**
 * What the campaign knows of one evaluation (from the summaries in its own stream, never
 * from the ballots): ballots issued, and once closed, ballots cast, overall and per group.
 */
export interface EvaluationFact {
  id: string;
  status: 'open' | 'closed';
  issued: number;
  /** null while open: turnout is published at close. */
  cast: number | null;
  groups: Record<string, { issued: number; cast: number | null }>;
}

/** What a guard may look at: plain facts about the campaign at `now`. Nothing here reads a clock. */
export interface GuardFacts {
  now: Date;
  stageEnteredAt: string;
  /** The current stage's deadline, if it has one. */
  deadline?: string;
  unitIds: readonly string[];
  statusOf(unit: string, deliverable: string): UnitStatus;
  /** Every evaluation opened of a stage's evaluation (by its id in the workflow), oldest first. */
  evaluationsOf?(evaluation: string): readonly EvaluationFact[];
}

export interface TurnoutShortfall {
  id: string;
  status: 'open' | 'closed';
  /** Share of issued ballots cast (of the group, when the guard names one); null while open. */
  turnout: number | null;
}

export type Blocker =
  | { guard: 'allUnitsSubmitted' | 'allUnitsApproved'; deliverable: string; units: string[] }
  | { guard: 'after'; until: string | null; reason: string }
  | { guard: 'evaluationClosed'; evaluation: string; open: string[]; reason: string }
  | {
      guard: 'minTurnout';
      evaluation: string;
      group?: string;
      /** The lowest turnout among the evaluations that fall short; null while one is open or none was opened. */
      turnout: number | null;
      required: number;
      evaluations: TurnoutShortfall[];
      reason: string;
    };

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function guardName(g: GuardDefinition): GuardName {
  return Object.keys(g)[0] as GuardName;
}

/** null when the guard holds; otherwise what blocks it (which guard, which deliverable, which units). */
export function evaluateGuard(g: GuardDefinition, facts: GuardFacts): Blocker | null {
  if ('allUnitsSubmitted' in g) {
    const { deliverable } = g.allUnitsSubmitted;
    const units = facts.unitIds.filter((u) => {
      const s = facts.statusOf(u, deliverable);
      return s === 'missing' || s === 'returned';
    });
    return units.length ? { guard: 'allUnitsSubmitted', deliverable, units } : null;
  }
  if ('allUnitsApproved' in g) {
    const { deliverable } = g.allUnitsApproved;
    const units = facts.unitIds.filter((u) => facts.statusOf(u, deliverable) !== 'approved');
    return units.length ? { guard: 'allUnitsApproved', deliverable, units } : null;
  }
  if ('after' in g) {
    const p = g.after as { date?: string; deadline?: true; duration?: string };
    let until: string | null;
    if (p.date) until = new Date(p.date).toISOString();
    else if (p.duration) until = addDuration(facts.stageEnteredAt, p.duration).toISOString();
    else until = facts.deadline ?? null;
    if (until === null) return { guard: 'after', until: null, reason: 'the stage has no deadline' };
    return facts.now.getTime() >= Date.parse(until) ? null : { guard: 'after', until, reason: `not before ${until}` };
  }
  if ('evaluationClosed' in g) {
    const { evaluation } = g.evaluationClosed;
    const all = facts.evaluationsOf?.(evaluation) ?? [];
    if (all.length === 0) return { guard: 'evaluationClosed', evaluation, open: [], reason: `evaluation ${evaluation} has not been opened` };
    const open = all.filter((e) => e.status !== 'closed').map((e) => e.id);
    return open.length ? { guard: 'evaluationClosed', evaluation, open, reason: `evaluation ${evaluation} is still open` } : null;
  }
  if ('minTurnout' in g) {
    const { evaluation, turnout: required, group } = g.minTurnout;
    const all = facts.evaluationsOf?.(evaluation) ?? [];
    const base = { guard: 'minTurnout' as const, evaluation, ...(group !== undefined ? { group } : {}), required };
    if (all.length === 0) return { ...base, turnout: null, evaluations: [], reason: `evaluation ${evaluation} has not been opened` };
    const short: TurnoutShortfall[] = [];
    let open = false;
    let noGroup = false;
    for (const e of all) {
      const counts = group === undefined ? { issued: e.issued, cast: e.cast } : e.groups[group];
      if (e.status !== 'closed' || !counts || counts.cast === null) {
        if (e.status !== 'closed') open = true;
        else noGroup = true;
        short.push({ id: e.id, status: e.status, turnout: null });
        continue;
      }
      // Judged on whole numbers of ballots, so 96 of 120 is exactly 0.8.
      const turnout = counts.issued > 0 ? counts.cast / counts.issued : 0;
      if (counts.cast < required * counts.issued - 1e-9) short.push({ id: e.id, status: e.status, turnout: round6(turnout) });
    }
    if (short.length === 0) return null;
    const lowest = open || noGroup ? null : Math.min(...short.map((s) => s.turnout!));
    const reason = open
      ? `evaluation ${evaluation} is still open: its turnout is published when it closes`
      : noGroup
        ? `evaluation ${evaluation} has no voter group ${group}`
        : `turnout ${lowest} is below the required ${required}${group !== undefined ? ` in group ${group}` : ''}`;
    return { ...base, turnout: lowest, evaluations: short, reason };
  }
  return { guard: 'after', until: null, reason: `unknown guard ${JSON.stringify(g)}` };
}

export function evaluateGuards(guards: readonly GuardDefinition[] | undefined, facts: GuardFacts): Blocker[] {
  const out: Blocker[] = [];
  for (const g of guards ?? []) {
    const b = evaluateGuard(g, facts);
    if (b) out.push(b);
  }
  return out;
}
