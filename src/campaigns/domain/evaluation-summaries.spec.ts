import { given } from '../../../test/support/campaign-spec';
import type { WorkflowDefinition } from '../../workflows/domain/workflow-definition';
import type { CampaignEvent } from './campaign-events';
import { currentEvaluations, guardFacts } from './campaign-facts';
import { replay } from './campaign-state';
import { campaignView } from './campaign-view';
import { recorded } from '../../../test/support/campaign-spec';

const T = (s: string) => ({ zh: s, en: s });
const workflow: WorkflowDefinition = {
  id: 'appraise',
  version: 1,
  title: T('appraise'),
  initial: 'supervision',
  stages: [
    {
      id: 'supervision',
      title: T('强化监督、考核评价'),
      evaluations: [{ id: 'appraisal', title: T('民主评议'), subjects: 'leaders' }],
      transitions: [{ event: 'COMPLETE', target: 'done', guards: [{ evaluationClosed: { evaluation: 'appraisal' } }, { minTurnout: { evaluation: 'appraisal', turnout: 0.8 } }] }],
    },
    { id: 'done', title: T('done'), final: true, evaluations: [] },
  ],
};
const units = [
  { id: 'school-1', name: '一小' },
  { id: 'school-2', name: '二小' },
];
const launched: CampaignEvent = { type: 'CampaignLaunched', data: { campaignId: 'c1', title: '先进性教育', workflow, units, deadlines: {}, stage: 'supervision' } };
const openedFor = (id: string, unit?: string): CampaignEvent => ({
  type: 'CampaignEvaluationOpened',
  data: { evaluationId: id, evaluation: 'appraisal', stage: 'supervision', title: '民主评议', ...(unit ? { unit } : {}), issued: 100, groups: { teachers: { issued: 100 } } },
});
const closedWith = (id: string, cast: number): CampaignEvent => ({
  type: 'CampaignEvaluationClosed',
  data: { evaluationId: id, evaluation: 'appraisal', stage: 'supervision', issued: 100, cast, groups: { teachers: { issued: 100, cast } }, tallyHash: 'a'.repeat(64) },
});

describe('evaluations as the campaign records them', () => {
  it('records an evaluation its current stage runs', () => {
    given([launched]).when({ type: 'RecordEvaluationOpened', data: (openedFor('ev-1') as any).data }).then([openedFor('ev-1')]);
  });

  it('refuses an evaluation the stage does not run, one of another stage, a unit not in the campaign, and an id twice', () => {
    given([launched]).when({ type: 'RecordEvaluationOpened', data: { ...(openedFor('ev-1') as any).data, evaluation: 'survey' } }).thenRefuses('UNKNOWN_EVALUATION', { expected: ['appraisal'] });
    given([launched]).when({ type: 'RecordEvaluationOpened', data: (openedFor('ev-1', 'school-9') as any).data }).thenRefuses('UNKNOWN_UNIT');
    given([launched, openedFor('ev-1')]).when({ type: 'RecordEvaluationOpened', data: (openedFor('ev-1') as any).data }).thenRefuses('EVALUATION_EXISTS');
    const elsewhere = { ...launched, data: { ...(launched as any).data, workflow: { ...workflow, stages: [{ ...workflow.stages[0], evaluations: [] }, { ...workflow.stages[1], final: false, evaluations: workflow.stages[0].evaluations, transitions: [{ event: 'X', target: 'supervision' }] }] } } } as CampaignEvent;
    given([elsewhere]).when({ type: 'RecordEvaluationOpened', data: (openedFor('ev-1') as any).data }).thenRefuses('EVALUATION_NOT_IN_STAGE', { evaluationStage: 'done' });
  });

  it('records a close once, and only of an evaluation it knows', () => {
    given([launched, openedFor('ev-1')]).when({ type: 'RecordEvaluationClosed', data: (closedWith('ev-1', 90) as any).data }).then([closedWith('ev-1', 90)]);
    given([launched, openedFor('ev-1'), closedWith('ev-1', 90)]).when({ type: 'RecordEvaluationClosed', data: (closedWith('ev-1', 90) as any).data }).then([]);
    given([launched]).when({ type: 'RecordEvaluationClosed', data: (closedWith('ev-1', 90) as any).data }).thenRefuses('EVALUATION_NOT_FOUND');
  });

  it('blocks the stage until the evaluation is closed with 80% turnout, naming it', () => {
    given([launched, openedFor('ev-1')])
      .when({ type: 'TriggerTransition', data: { event: 'COMPLETE' } })
      .thenRefuses('GUARD_REJECTED', {
        blockers: [
          { guard: 'evaluationClosed', evaluation: 'appraisal', open: ['ev-1'] },
          { guard: 'minTurnout', evaluation: 'appraisal', turnout: null, required: 0.8 },
        ],
      });
    given([launched, openedFor('ev-1'), closedWith('ev-1', 79)])
      .when({ type: 'TriggerTransition', data: { event: 'COMPLETE' } })
      .thenRefuses('GUARD_REJECTED', { blockers: [{ guard: 'minTurnout', turnout: 0.79, required: 0.8, evaluations: [{ id: 'ev-1', status: 'closed', turnout: 0.79 }] }] });
    given([launched, openedFor('ev-1'), closedWith('ev-1', 80)])
      .when({ type: 'TriggerTransition', data: { event: 'COMPLETE' } })
      .then([
        { type: 'StageAdvanced', data: { from: 'supervision', to: 'done', event: 'COMPLETE' } },
        { type: 'CampaignCompleted', data: { stage: 'done' } },
      ]);
  });

  it('lets a re-run for the same unit supersede a failed evaluation, while each unit’s latest one counts', () => {
    const history = [launched, openedFor('ev-1', 'school-1'), closedWith('ev-1', 50), openedFor('ev-2', 'school-2'), closedWith('ev-2', 95), openedFor('ev-3', 'school-1')];
    const state = replay(recorded(history))!;
    expect(currentEvaluations(state, 'appraisal').map((e) => e.id)).toEqual(['ev-2', 'ev-3']);
    expect(guardFacts(state, new Date()).evaluationsOf!('appraisal').map((e) => [e.id, e.status, e.cast])).toEqual([
      ['ev-2', 'closed', 95],
      ['ev-3', 'open', null],
    ]);
    given([...history, closedWith('ev-3', 81)]).when({ type: 'TriggerTransition', data: { event: 'COMPLETE' } }).then([
      { type: 'StageAdvanced', data: { from: 'supervision', to: 'done', event: 'COMPLETE' } },
      { type: 'CampaignCompleted', data: { stage: 'done' } },
    ]);
  });

  it('takes the latest opened as the current one even when the ids look like numbers (an object would list "9" before "10")', () => {
    const history = [launched, openedFor('10'), closedWith('10', 50), openedFor('9')];
    const state = replay(recorded(history))!;
    expect(currentEvaluations(state, 'appraisal').map((e) => [e.id, e.status])).toEqual([['9', 'open']]);
    expect(campaignView(state, new Date()).evaluations.map((e: { id: string }) => e.id)).toEqual(['10', '9']);
    given(history)
      .when({ type: 'TriggerTransition', data: { event: 'COMPLETE' } })
      .thenRefuses('GUARD_REJECTED', { blockers: [{ guard: 'evaluationClosed', evaluation: 'appraisal', open: ['9'] }, { guard: 'minTurnout', evaluation: 'appraisal', turnout: null, required: 0.8 }] });
  });

  it('keeps what the guards need in the campaign view: one summary per evaluation', () => {
    const state = replay(recorded([launched, openedFor('ev-1'), closedWith('ev-1', 85)], '2005-05-10T00:00:00.000Z'))!;
    expect(Object.values(state.evaluations)).toEqual([
      expect.objectContaining({ id: 'ev-1', status: 'closed', issued: 100, cast: 85, closedAt: '2005-05-10T00:00:00.000Z', groups: { teachers: { issued: 100, cast: 85 } } }),
    ]);
  });
});
