import { getSimplePaths } from 'xstate/graph';
import { loadWorkflowsDir } from '../../src/workflows/workflow-loader';
import { buildStageMachine, StageEvent } from '../../src/workflows/domain/machine';
import type { GuardFacts } from '../../src/workflows/domain/guards';
import type { WorkflowDefinition } from '../../src/workflows/domain/workflow-definition';
import { CampaignCommand, decide } from '../../src/campaigns/domain/decide';
import type { CampaignEvent, RecordedCampaignEvent } from '../../src/campaigns/domain/campaign-events';
import { CampaignState, evolve, stageOf } from '../../src/campaigns/domain/campaign-state';
import { stageDeadline } from '../../src/campaigns/domain/campaign-facts';
import { DomainError } from '../../src/common/domain/domain-error';
import { addDuration } from '../../src/workflows/domain/duration';
import { REPO_ROOT } from '../support/docket-harness';

/**
 * One test per reachable stage path of every shipped workflow, generated with
 * xstate/graph from the machine itself. Each path is then walked by the pure
 * decider: at every step the transition is refused until the stage's guards are
 * satisfied (deliverables submitted and approved by every unit, dates passed, the
 * stage's evaluations opened and closed with every ballot cast), then taken,
 * landing exactly where the graph says.
 */
const workflows = loadWorkflowsDir(`${REPO_ROOT}/workflows`);
const bureau = { sub: 'bureau', role: 'bureau' as const };
const units = [
  { id: 'u1', name: 'Unit 1' },
  { id: 'u2', name: 'Unit 2' },
];

/** Facts under which every guard holds: the graph then explores every declared transition. */
const permissive: GuardFacts = {
  now: new Date('2100-01-01T00:00:00Z'),
  stageEnteredAt: '2000-01-01T00:00:00Z',
  deadline: '2000-01-01T00:00:00Z',
  unitIds: ['u1'],
  statusOf: () => 'approved',
  evaluationsOf: (evaluation) => [{ id: `${evaluation}-1`, status: 'closed', issued: 10, cast: 10, groups: {} }],
};

class Walk {
  state: CampaignState | null = null;
  now = new Date('2013-09-01T00:00:00.000Z');
  private revision = -1;

  run(command: CampaignCommand): CampaignEvent[] {
    const events = decide(command, this.state, { actor: bureau, now: this.now });
    for (const e of events) {
      this.revision += 1;
      const rec = { ...e, id: `e${this.revision}`, revision: this.revision, metadata: { actor: bureau, occurredAt: this.now.toISOString(), correlationId: 'walk', prevHash: '', hash: '' } };
      this.state = evolve(this.state, rec as RecordedCampaignEvent);
    }
    this.now = new Date(this.now.getTime() + 3600_000);
    return events;
  }

  /** Submit (and approve, where reviewed) every deliverable of the current stage for every unit. */
  satisfyDeliverables(def: WorkflowDefinition) {
    const stage = stageOf(def, this.state!.stage);
    for (const d of stage.deliverables ?? []) {
      for (const u of units) {
        this.run({ type: 'SubmitDeliverable', data: { unit: u.id, deliverable: d.id, title: `${u.id} ${d.id}` } });
        if (d.review) this.run({ type: 'ReviewDeliverable', data: { unit: u.id, deliverable: d.id, decision: 'approved' } });
      }
    }
  }

  /** Open and close every evaluation the transition's guards name, with every ballot cast (as the campaign records them). */
  satisfyEvaluations(def: WorkflowDefinition, event: string) {
    const stage = stageOf(def, this.state!.stage);
    const named = new Set(
      (stage.transitions ?? [])
        .filter((t) => t.event === event)
        .flatMap((t) => t.guards ?? [])
        .flatMap((g) => ('evaluationClosed' in g ? [g.evaluationClosed.evaluation] : 'minTurnout' in g ? [g.minTurnout.evaluation] : [])),
    );
    for (const id of named) {
      const e = stage.evaluations!.find((x) => x.id === id)!;
      const groups = Object.fromEntries((e.groups ?? [{ id: 'voters' }]).map((g) => [g.id, { issued: 10 }]));
      const issued = Object.keys(groups).length * 10;
      const evaluationId = `${id}-${this.revision}`;
      this.run({ type: 'RecordEvaluationOpened', data: { evaluationId, evaluation: id, stage: stage.id, title: id, issued, groups } });
      this.run({
        type: 'RecordEvaluationClosed',
        data: {
          evaluationId,
          evaluation: id,
          stage: stage.id,
          issued,
          cast: issued,
          groups: Object.fromEntries(Object.keys(groups).map((g) => [g, { issued: 10, cast: 10 }])),
          tallyHash: '0'.repeat(64),
        },
      });
    }
  }

  /** Move the clock past every date guard of the transition. */
  passDates(def: WorkflowDefinition, event: string) {
    const stage = stageOf(def, this.state!.stage);
    for (const t of stage.transitions ?? []) {
      if (t.event !== event) continue;
      for (const g of t.guards ?? []) {
        if (!('after' in g)) continue;
        const p = g.after as { date?: string; deadline?: true; duration?: string };
        const until = p.date ? new Date(p.date) : p.duration ? addDuration(this.state!.stageEnteredAt, p.duration) : new Date(stageDeadline(this.state!)!);
        if (until > this.now) this.now = new Date(until.getTime() + 1000);
      }
    }
  }
}

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
  return undefined;
}

describe.each(workflows.map((w) => [w.id, w] as const))('workflow %s: every reachable stage path', (_id, def) => {
  const { machine } = buildStageMachine(def);
  const events: StageEvent[] = [...new Set(def.stages.flatMap((s) => (s.transitions ?? []).map((t) => t.event)))].map((type) => ({ type, facts: permissive }));
  const paths = getSimplePaths(machine, { events, serializeState: (s: any) => JSON.stringify(s.value) } as any);

  it('reaches every stage it declares and at least one final stage', () => {
    const reached = new Set(paths.map((p) => String(p.state.value)));
    expect([...reached].sort()).toEqual(def.stages.map((s) => s.id).sort());
    expect(def.stages.some((s) => s.final && reached.has(s.id))).toBe(true);
  });

  const cases = paths
    .filter((p) => p.steps.length > 0)
    .map((p) => {
      const steps = p.steps.slice(1).map((s) => s.event.type);
      const stages = [def.initial, ...p.steps.slice(1).map((s) => String(s.state.value))];
      return [`${stages.join(' → ')} (${steps.join(', ') || 'launch only'})`, steps, stages] as const;
    });

  it.each(cases)('%s', (_name, steps, stages) => {
    const walk = new Walk();
    walk.run({ type: 'LaunchCampaign', data: { campaignId: 'path', title: 'path', workflow: def, units } });
    expect(walk.state!.stage).toBe(stages[0]);
    steps.forEach((event, i) => {
      const stage = stageOf(def, walk.state!.stage);
      const guarded = (stage.transitions ?? []).filter((t) => t.event === event).every((t) => (t.guards ?? []).length > 0);
      if (guarded) expect(refusal(() => decide({ type: 'TriggerTransition', data: { event } }, walk.state, { actor: bureau, now: walk.now }))).toBe('GUARD_REJECTED');
      walk.satisfyDeliverables(def);
      walk.satisfyEvaluations(def, event);
      walk.passDates(def, event);
      walk.run({ type: 'TriggerTransition', data: { event } });
      expect(walk.state!.stage).toBe(stages[i + 1]);
    });
    const last = stageOf(def, walk.state!.stage);
    expect(walk.state!.status).toBe(last.final ? 'completed' : 'active');
  });
});
