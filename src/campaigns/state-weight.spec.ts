import { resolve } from 'node:path';
import { recorded } from '../../test/support/campaign-spec';
import { campaignHistory } from '../bench/seed';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import type { CampaignEvent, RecordedCampaignEvent, UnitRef } from './domain/campaign-events';
import { CampaignState, evolve, replay } from './domain/campaign-state';
import { definitionWeight, eventWeight, stateWeight, unitListWeight, WEIGHTS } from './state-weight';

const def = loadWorkflowsDir(resolve(__dirname, '../../workflows')).find((w) => w.id === 'three-searches')!;
const now = new Date('2024-03-01T00:00:00Z');
const history = (units: number, stages: number, lastStageShare: number) => campaignHistory({ campaignId: 'c1', workflow: def, units, stages, lastStageShare }, now);
const folded = (events: CampaignEvent[]) => replay(recorded(events))!;
const units = (n: number): UnitRef[] => Array.from({ length: n }, (_, i) => ({ id: `unit-${i + 1}`, name: `单位${i + 1}` }));
const launch = (n = 3): CampaignEvent => ({ type: 'CampaignLaunched', data: { campaignId: 'c1', title: '“找问题、找差距、找目标”主题大讨论', workflow: def, units: units(n), deadlines: {}, stage: def.initial } });
const submit = (unit: string, title = `${unit}问题清单`, stage = def.initial, deliverable = 'problem-list'): CampaignEvent => ({ type: 'DeliverableSubmitted', data: { stage, unit, deliverable, title, version: 1 } });
const review = (unit: string, decision: 'approved' | 'returned', comment?: string, stage = def.initial): CampaignEvent => ({
  type: 'DeliverableReviewed',
  data: { stage, unit, deliverable: 'problem-list', decision, version: 1, ...(comment ? { comment } : {}) },
});
const KiB = 1024;

/** Folds event by event, adding each event's increment, and checks the sum against a walk of the state after every event. */
function foldWeighed(events: RecordedCampaignEvent[]): { state: CampaignState; weight: number } {
  let state: CampaignState | null = null;
  let weight = 0;
  for (const e of events) {
    if (state) weight += eventWeight(state, e);
    state = evolve(state, e);
    if (state && e.revision === 0) weight = stateWeight(state);
    if (state) expect([e.type, weight]).toEqual([e.type, stateWeight(state)]);
  }
  return { state: state!, weight };
}

describe('stateWeight', () => {
  it('weighs the calibrated shapes close to the heap they were measured to take (comment in state-weight.ts)', () => {
    // Heap per state measured when the constants were calibrated (N = 600, heapUsed after forced collections).
    const measured: [CampaignEvent[], number][] = [
      [history(100, 0, 0.5), 12_006],
      [history(100, 0, 0.7), 15_417],
      [history(100, 0, 0.9), 21_605],
      [history(120, 3, 0.5), 118_012],
    ];
    for (const [events, bytes] of measured) {
      const estimate = stateWeight(folded(events));
      expect(estimate / bytes).toBeGreaterThan(0.9);
      expect(estimate / bytes).toBeLessThan(1.1);
    }
  });

  it('weighs a campaign with more units submitted, more stages walked or more reviews more', () => {
    const fifty = stateWeight(folded(history(100, 0, 0.5)));
    const ninety = stateWeight(folded(history(100, 0, 0.9)));
    const fourStages = stateWeight(folded(history(120, 3, 0.5)));
    expect(ninety).toBeGreaterThan(fifty);
    expect(fourStages).toBeGreaterThan(5 * ninety);
    const submitted = stateWeight(folded([launch(), submit('unit-1')]));
    const approved = stateWeight(folded([launch(), submit('unit-1'), review('unit-1', 'approved')]));
    expect(approved - submitted).toBe(WEIGHTS.review);
  });

  it("counts a title's characters when it is long enough to be the state's own string", () => {
    const short = stateWeight(folded([launch(), submit('unit-1', '问题清单')]));
    const long = stateWeight(folded([launch(), submit('unit-1', '第一党支部关于“找问题、找差距、找目标”的问题清单')]));
    expect(long - short).toBeGreaterThanOrEqual(2 * 25);
  });

  it("does not count the definition nor the units list in a state's weight: they are weighed apart, once per distinct instance", () => {
    expect(stateWeight(folded([launch(500)]))).toBe(stateWeight(folded([launch(3)])));
    expect(unitListWeight(units(500))).toBeGreaterThan(50 * KiB);
    expect(unitListWeight(units(500))).toBeGreaterThan(unitListWeight(units(3)));
    // 9.1 KiB measured for three-searches parsed from its JSON.
    expect(definitionWeight(def)).toBeGreaterThan(8 * KiB);
    expect(definitionWeight(def)).toBeLessThan(12 * KiB);
  });
});

describe('eventWeight', () => {
  it('keeps the weight of a state folded event by event equal to a walk of the state (seeded histories)', () => {
    foldWeighed(recorded(history(40, 3, 0.5)));
    foldWeighed(recorded(history(100, 0, 0.7)));
  });

  it('tracks resubmissions, second reviews, stage changes, moved deadlines, evaluations and idempotency keys', () => {
    const stage = def.initial;
    const events: CampaignEvent[] = [
      launch(),
      submit('unit-1'),
      review('unit-1', 'returned', '请补充整改措施，并附上时间表和责任人'),
      submit('unit-1', 'unit-1问题清单（修改稿，第二版）'),
      review('unit-1', 'approved'),
      review('unit-1', 'approved', '同意'),
      submit('unit-2', '问题清单', 'rectification', 'rectification-plan'),
      { type: 'DeadlineChanged', data: { stage, from: null, to: '2024-04-01T00:00:00.000Z', reason: '延期' } },
      { type: 'DeadlineChanged', data: { stage, from: '2024-04-01T00:00:00.000Z', to: '2024-05-01T00:00:00.000Z', reason: '再延期' } },
      { type: 'StageAdvanced', data: { from: stage, to: 'rectification', event: 'ADVANCE', reason: '学习阶段按期完成，进入整改阶段' } },
      { type: 'CampaignEvaluationOpened', data: { evaluationId: 'ev-1', evaluation: 'satisfaction', stage, title: '群众满意度测评', issued: 60, groups: { teachers: { issued: 30 }, parents: { issued: 30 } } } },
      { type: 'CampaignEvaluationClosed', data: { evaluationId: 'ev-1', evaluation: 'satisfaction', stage, issued: 60, cast: 50, groups: { teachers: { issued: 30, cast: 25 }, parents: { issued: 30, cast: 25 }, students: { issued: 0, cast: 0 } }, tallyHash: 'a'.repeat(64) } },
      { type: 'CampaignEvaluationClosed', data: { evaluationId: 'ev-unknown', evaluation: 'satisfaction', stage, issued: 0, cast: 0, groups: {}, tallyHash: 'b'.repeat(64) } },
      { type: 'CampaignCompleted', data: { stage: 'rectification' } },
    ];
    // Two events of one command carry one key; the next command another.
    const keys = [undefined, 'key-0001-0001-0001', 'key-0001-0001-0001', 'k2', undefined, 'key-0003-0003-0003-0003'];
    const log = recorded(events).map((e, i) => (keys[i] ? { ...e, metadata: { ...e.metadata, idempotencyKey: keys[i], requestHash: 'h'.repeat(43) } } : e));
    const { state } = foldWeighed(log);
    expect(state.idempotency.size).toBe(3);
    expect(state.evaluations['ev-1'].status).toBe('closed');
  });

  it('is 0 for an event the fold ignores (already folded, a second launch) and with no state yet', () => {
    const log = recorded([launch(), submit('unit-1')]);
    const state = replay(log)!;
    expect(eventWeight(state, log[1])).toBe(0);
    const relaunch = { ...log[0], revision: 2, metadata: { ...log[0].metadata, idempotencyKey: 'relaunch-key-0001' } } as RecordedCampaignEvent;
    expect(eventWeight(state, relaunch)).toBe(0);
    expect(evolve(state, relaunch)).toBe(state);
    expect(state.idempotency.size).toBe(0);
    expect(eventWeight(null, log[0])).toBe(0);
  });
});
