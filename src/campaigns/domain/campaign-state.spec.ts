import { recorded } from '../../../test/support/campaign-spec';
import type { CampaignEvent } from './campaign-events';
import { evolve, replay } from './campaign-state';
import { campaignView } from './campaign-view';
import type { WorkflowDefinition } from '../../workflows/domain/workflow-definition';

const T = (s: string) => ({ zh: s, en: s });
const workflow: WorkflowDefinition = {
  id: 'w',
  version: 1,
  title: T('w'),
  initial: 'a',
  stages: [
    { id: 'a', title: T('a'), deadline: 'P10D', deliverables: [{ id: 'plan', title: T('plan'), review: true }], transitions: [{ event: 'ADVANCE', target: 'b', guards: [{ allUnitsApproved: { deliverable: 'plan' } }] }] },
    { id: 'b', title: T('b'), final: true },
  ],
};
const history: CampaignEvent[] = [
  { type: 'CampaignLaunched', data: { campaignId: 'c', title: 't', workflow, units: [{ id: 'u1', name: 'U1' }, { id: 'u2', name: 'U2' }], deadlines: {}, stage: 'a' } },
  { type: 'DeliverableSubmitted', data: { stage: 'a', unit: 'u1', deliverable: 'plan', title: 'p', version: 1 } },
  { type: 'DeliverableReviewed', data: { stage: 'a', unit: 'u1', deliverable: 'plan', decision: 'returned', comment: 'more detail', version: 1 } },
  { type: 'DeliverableSubmitted', data: { stage: 'a', unit: 'u1', deliverable: 'plan', title: 'p2', version: 2 } },
];
const events = recorded(history, (i) => `2013-09-0${i + 1}T00:00:00.000Z`);

describe('evolve', () => {
  it('leaves the state unchanged when an event is delivered twice', () => {
    const once = replay(events);
    const twice = replay(events.flatMap((e) => [e, e]));
    expect(twice).toEqual(once);
  });

  it('folds the latest submission over a returned one', () => {
    const s = replay(events)!;
    expect(s.deliverables.a.u1.plan).toMatchObject({ status: 'submitted', title: 'p2', version: 2, at: '2013-09-04T00:00:00.000Z' });
    expect(s.revision).toBe(3);
  });

  it('ignores events before a launch', () => {
    expect(evolve(null, events[1])).toBeNull();
  });
});

describe('the campaign view', () => {
  it('shows missing deliverables, the relative deadline and overdue at the given time', () => {
    const s = replay(events)!;
    const before = campaignView(s, new Date('2013-09-10T00:00:00.000Z'));
    expect(before.deadline).toBe('2013-09-11T00:00:00.000Z');
    expect(before.overdue).toBe(false);
    expect(before.units[1]).toEqual({ id: 'u2', name: 'U2', deliverables: { plan: { status: 'missing' } } });
    expect(campaignView(s, new Date('2013-09-11T00:00:01.000Z')).overdue).toBe(true);
    expect(before.transitions).toEqual([{ event: 'ADVANCE', target: 'b', allowed: false, blockers: [{ guard: 'allUnitsApproved', deliverable: 'plan', units: ['u1', 'u2'] }] }]);
  });
});
