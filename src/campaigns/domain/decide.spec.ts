import type { WorkflowDefinition } from '../../workflows/domain/workflow-definition';
import type { CampaignEvent } from './campaign-events';
import { given } from '../../../test/support/campaign-spec';

const T = (zh: string, en = zh) => ({ zh, en });

/** A small workflow in the seeds' shape: plans reviewed by the bureau, then a dated consolidation. */
const workflow: WorkflowDefinition = {
  id: 'mini',
  version: 1,
  title: T('小型活动', 'Mini campaign'),
  initial: 'rectification',
  stages: [
    {
      id: 'rectification',
      title: T('整改落实'),
      deliverables: [
        { id: 'rectification-plan', title: T('整改方案'), review: true },
        { id: 'study-notes', title: T('学习笔记'), review: false },
      ],
      transitions: [
        {
          event: 'ADVANCE',
          target: 'consolidation',
          guards: [{ allUnitsSubmitted: { deliverable: 'rectification-plan' } }, { allUnitsApproved: { deliverable: 'rectification-plan' } }],
        },
      ],
    },
    {
      id: 'consolidation',
      title: T('巩固深化'),
      deadline: 'P30D',
      deliverables: [{ id: 'summary', title: T('总结'), review: false }],
      transitions: [{ event: 'COMPLETE', target: 'concluded', guards: [{ after: { deadline: true } }] }],
    },
    { id: 'concluded', title: T('结束'), final: true },
  ],
};

const units = [
  { id: 'branch-1', name: '第一党支部' },
  { id: 'branch-2', name: '第二党支部' },
];
const launched: CampaignEvent = {
  type: 'CampaignLaunched',
  data: { campaignId: 'c1', title: '主题活动', workflow, units, deadlines: {}, stage: 'rectification' },
};
const submitted = (unit: string, deliverable = 'rectification-plan', version = 1): CampaignEvent => ({
  type: 'DeliverableSubmitted',
  data: { stage: 'rectification', unit, deliverable, title: `${unit} plan`, version },
});
const reviewed = (unit: string, decision: 'approved' | 'returned', version = 1): CampaignEvent => ({
  type: 'DeliverableReviewed',
  data: { stage: 'rectification', unit, deliverable: 'rectification-plan', decision, version },
});

describe('launching a campaign', () => {
  it('records the full workflow definition, the units and the initial stage', () => {
    given([]).when({ type: 'LaunchCampaign', data: { campaignId: 'c1', title: '主题活动', workflow, units } }).then([launched]);
  });

  it('refuses a second launch with the same id', () => {
    given([launched]).when({ type: 'LaunchCampaign', data: { campaignId: 'c1', title: 'again', workflow, units } }).thenRefuses('CAMPAIGN_EXISTS');
  });

  it('refuses a unit listed twice', () => {
    given([])
      .when({ type: 'LaunchCampaign', data: { campaignId: 'c1', title: 't', workflow, units: [units[0], units[0]] } })
      .thenRefuses('DUPLICATE_UNIT', { unit: 'branch-1' });
  });

  it('refuses a deadline for a stage the workflow does not have', () => {
    given([])
      .when({ type: 'LaunchCampaign', data: { campaignId: 'c1', title: 't', workflow, units, deadlines: { rectificaton: '2013-12-31T16:00:00Z' } } })
      .thenRefuses('UNKNOWN_STAGE', { stage: 'rectificaton' });
  });

  it('normalises absolute deadlines to UTC', () => {
    given([])
      .when({ type: 'LaunchCampaign', data: { campaignId: 'c1', title: '主题活动', workflow, units, deadlines: { rectification: '2014-01-01T00:00:00+08:00' } } })
      .then([{ ...launched, data: { ...launched.data, deadlines: { rectification: '2013-12-31T16:00:00.000Z' } } } as CampaignEvent]);
  });
});

describe('submitting deliverables', () => {
  it('records a first submission as version 1 and a resubmission after return as version 2', () => {
    given([launched]).when({ type: 'SubmitDeliverable', data: { unit: 'branch-1', deliverable: 'rectification-plan', title: 'branch-1 plan' } }).then([submitted('branch-1')]);
    given([launched, submitted('branch-1'), reviewed('branch-1', 'returned')])
      .when({ type: 'SubmitDeliverable', data: { unit: 'branch-1', deliverable: 'rectification-plan', title: 'branch-1 plan' } })
      .then([submitted('branch-1', 'rectification-plan', 2)]);
  });

  it('refuses a unit that is not part of the campaign', () => {
    given([launched]).when({ type: 'SubmitDeliverable', data: { unit: 'branch-9', deliverable: 'rectification-plan', title: 'x' } }).thenRefuses('UNKNOWN_UNIT');
  });

  it('refuses a deliverable of another stage, naming the stage it belongs to', () => {
    given([launched])
      .when({ type: 'SubmitDeliverable', data: { unit: 'branch-1', deliverable: 'summary', title: 'x' } })
      .thenRefuses('DELIVERABLE_NOT_IN_STAGE', { deliverableStage: 'consolidation', stage: 'rectification' });
  });

  it('refuses a deliverable no stage has', () => {
    given([launched]).when({ type: 'SubmitDeliverable', data: { unit: 'branch-1', deliverable: 'poem', title: 'x' } }).thenRefuses('UNKNOWN_DELIVERABLE');
  });

  it('refuses to replace an approved deliverable', () => {
    given([launched, submitted('branch-1'), reviewed('branch-1', 'approved')])
      .when({ type: 'SubmitDeliverable', data: { unit: 'branch-1', deliverable: 'rectification-plan', title: 'x' } })
      .thenRefuses('DELIVERABLE_ALREADY_APPROVED');
  });
});

describe('reviewing deliverables', () => {
  it('approves a submitted plan, naming the version reviewed', () => {
    given([launched, submitted('branch-1')])
      .when({ type: 'ReviewDeliverable', data: { unit: 'branch-1', deliverable: 'rectification-plan', decision: 'approved' } })
      .then([reviewed('branch-1', 'approved')]);
  });

  it('refuses to review what was not submitted, or was already reviewed, or needs no review', () => {
    given([launched])
      .when({ type: 'ReviewDeliverable', data: { unit: 'branch-1', deliverable: 'rectification-plan', decision: 'approved' } })
      .thenRefuses('DELIVERABLE_NOT_SUBMITTED');
    given([launched, submitted('branch-1'), reviewed('branch-1', 'returned')])
      .when({ type: 'ReviewDeliverable', data: { unit: 'branch-1', deliverable: 'rectification-plan', decision: 'approved' } })
      .thenRefuses('DELIVERABLE_ALREADY_REVIEWED', { status: 'returned' });
    given([launched, submitted('branch-1', 'study-notes')])
      .when({ type: 'ReviewDeliverable', data: { unit: 'branch-1', deliverable: 'study-notes', decision: 'approved' } })
      .thenRefuses('REVIEW_NOT_REQUIRED');
  });
});

describe('moving between stages', () => {
  const allApproved = [launched, submitted('branch-1'), submitted('branch-2'), reviewed('branch-1', 'approved'), reviewed('branch-2', 'approved')];

  it('refuses to leave rectification while a branch has no plan, naming that branch under each failing guard', () => {
    given([launched, submitted('branch-1'), reviewed('branch-1', 'approved')])
      .when({ type: 'TriggerTransition', data: { event: 'ADVANCE' } })
      .thenRefuses('GUARD_REJECTED', {
        blockers: [
          { guard: 'allUnitsSubmitted', deliverable: 'rectification-plan', units: ['branch-2'] },
          { guard: 'allUnitsApproved', deliverable: 'rectification-plan', units: ['branch-2'] },
        ],
      });
  });

  it('refuses to leave rectification while a returned plan has not been approved', () => {
    given([launched, submitted('branch-1'), submitted('branch-2'), reviewed('branch-1', 'approved'), reviewed('branch-2', 'returned')])
      .when({ type: 'TriggerTransition', data: { event: 'ADVANCE' } })
      .thenRefuses('GUARD_REJECTED', {
        blockers: [
          { guard: 'allUnitsSubmitted', deliverable: 'rectification-plan', units: ['branch-2'] },
          { guard: 'allUnitsApproved', deliverable: 'rectification-plan', units: ['branch-2'] },
        ],
      });
  });

  it('advances once every plan is approved, recording from, to, event and reason', () => {
    given(allApproved)
      .when({ type: 'TriggerTransition', data: { event: 'ADVANCE', reason: 'all plans approved' } })
      .then([{ type: 'StageAdvanced', data: { from: 'rectification', to: 'consolidation', event: 'ADVANCE', reason: 'all plans approved' } }]);
  });

  it('refuses an event the stage does not know, listing those it does', () => {
    given([launched]).when({ type: 'TriggerTransition', data: { event: 'COMPLETE' } }).thenRefuses('UNKNOWN_TRANSITION', { events: ['ADVANCE'] });
  });

  it('waits for the stage deadline (30 days after entry) and then completes the campaign', () => {
    const inConsolidation = [...allApproved, { type: 'StageAdvanced', data: { from: 'rectification', to: 'consolidation', event: 'ADVANCE' } } as CampaignEvent];
    const spec = given(inConsolidation, '2013-09-01T00:00:00.000Z');
    spec.when({ type: 'TriggerTransition', data: { event: 'COMPLETE' } }, new Date('2013-09-30T23:59:59.000Z')).thenRefuses('GUARD_REJECTED', {
      blockers: [{ guard: 'after', until: '2013-10-01T00:00:00.000Z' }],
    });
    spec.when({ type: 'TriggerTransition', data: { event: 'COMPLETE' } }, new Date('2013-10-01T00:00:00.000Z')).then([
      { type: 'StageAdvanced', data: { from: 'consolidation', to: 'concluded', event: 'COMPLETE' } },
      { type: 'CampaignCompleted', data: { stage: 'concluded' } },
    ]);
  });

  it('changes nothing once the campaign is completed', () => {
    const done = [
      ...allApproved,
      { type: 'StageAdvanced', data: { from: 'rectification', to: 'consolidation', event: 'ADVANCE' } } as CampaignEvent,
      { type: 'StageAdvanced', data: { from: 'consolidation', to: 'concluded', event: 'COMPLETE' } } as CampaignEvent,
      { type: 'CampaignCompleted', data: { stage: 'concluded' } } as CampaignEvent,
    ];
    given(done).when({ type: 'SubmitDeliverable', data: { unit: 'branch-1', deliverable: 'summary', title: 'x' } }).thenRefuses('CAMPAIGN_COMPLETED');
  });
});

describe('moving a deadline', () => {
  it("records the current stage's old and new deadline with the reason", () => {
    given([launched], '2013-09-01T00:00:00.000Z')
      .when({ type: 'ChangeDeadline', data: { stage: 'rectification', deadline: '2013-12-31T16:00:00Z', reason: 'leading group decision' } })
      .then([{ type: 'DeadlineChanged', data: { stage: 'rectification', from: null, to: '2013-12-31T16:00:00.000Z', reason: 'leading group decision' } }]);
  });

  it("sets a coming stage's deadline, which then wins over the workflow's relative one", () => {
    given([launched])
      .when({ type: 'ChangeDeadline', data: { stage: 'consolidation', deadline: '2014-03-01T00:00:00+08:00', reason: 'r' } })
      .then([{ type: 'DeadlineChanged', data: { stage: 'consolidation', from: null, to: '2014-02-28T16:00:00.000Z', reason: 'r' } }]);
  });

  it('refuses a stage already left, a final stage and an unchanged deadline', () => {
    const moved = [
      launched,
      submitted('branch-1'),
      submitted('branch-2'),
      reviewed('branch-1', 'approved'),
      reviewed('branch-2', 'approved'),
      { type: 'StageAdvanced', data: { from: 'rectification', to: 'consolidation', event: 'ADVANCE' } } as CampaignEvent,
    ];
    given(moved).when({ type: 'ChangeDeadline', data: { stage: 'rectification', deadline: '2014-01-01T00:00:00Z', reason: 'r' } }).thenRefuses('STAGE_ALREADY_LEFT');
    given(moved).when({ type: 'ChangeDeadline', data: { stage: 'concluded', deadline: '2014-01-01T00:00:00Z', reason: 'r' } }).thenRefuses('UNKNOWN_STAGE');
    given(moved, '2013-09-01T00:00:00.000Z')
      .when({ type: 'ChangeDeadline', data: { stage: 'consolidation', deadline: '2013-10-01T00:00:00.000Z', reason: 'r' } })
      .thenRefuses('DEADLINE_UNCHANGED');
  });
});
