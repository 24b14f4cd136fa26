import { join } from 'node:path';
import { decide, CampaignCommand } from '../../src/campaigns/domain/decide';
import type { RecordedCampaignEvent } from '../../src/campaigns/domain/campaign-events';
import { CampaignState, evolve } from '../../src/campaigns/domain/campaign-state';
import { linkEvents } from '../../src/event-store/chained-append';
import { loadWorkflowFile } from '../../src/workflows/workflow-loader';
import type { Actor } from '../../src/common/domain/domain-error';
import type { WorkflowDefinition } from '../../src/workflows/domain/workflow-definition';
import { REPO_ROOT } from '../support/docket-harness';

const BUREAU: Actor = { sub: 'bureau-office', role: 'bureau' };

const T = (zh: string, en: string) => ({ zh, en });

/** The three-searches shape cut to the bone: keeps bundles small where a test looks at every byte. */
export const MINI_WORKFLOW: WorkflowDefinition = {
  id: 'mini-searches',
  version: 1,
  title: T('小型主题活动', 'Mini campaign'),
  initial: 'learning',
  stages: [
    {
      id: 'learning',
      title: T('学习讨论', 'Learning'),
      deliverables: [{ id: 'problem-list', title: T('问题清单', 'Problem list'), review: false }],
      transitions: [{ event: 'ADVANCE', target: 'rectification', guards: [{ allUnitsSubmitted: { deliverable: 'problem-list' } }] }],
    },
    {
      id: 'rectification',
      title: T('整改落实', 'Rectification'),
      deliverables: [{ id: 'rectification-plan', title: T('整改方案', 'Plan'), review: true }],
      transitions: [{ event: 'ADVANCE', target: 'concluded', guards: [{ allUnitsApproved: { deliverable: 'rectification-plan' } }] }],
    },
    { id: 'concluded', title: T('结束', 'Concluded'), final: true },
  ],
};

/**
 * A real, hash-chained campaign history built with the domain's own decide (no store, no Nest):
 * launch, every unit's problem list, ADVANCE, every unit's plan, the bureau's reviews.
 */
export function chainedHistory(campaignId = 'audit-sample', unitCount = 3, workflow: WorkflowDefinition = loadWorkflowFile(join(REPO_ROOT, 'workflows/three-searches.yaml'))): RecordedCampaignEvent[] {
  const units = Array.from({ length: unitCount }, (_, i) => ({ id: `branch-${i + 1}`, name: `第${i + 1}党支部` }));
  const commands: [CampaignCommand, Actor][] = [
    [{ type: 'LaunchCampaign', data: { campaignId, title: '“找问题、找差距、找目标”主题大讨论', workflow, units } }, BUREAU],
    ...units.map((u): [CampaignCommand, Actor] => [
      { type: 'SubmitDeliverable', data: { unit: u.id, deliverable: 'problem-list', title: `${u.name}查找问题清单` } },
      { sub: `${u.id}-secretary`, role: 'unit', unit: u.id },
    ]),
    [{ type: 'TriggerTransition', data: { event: 'ADVANCE', reason: '领导小组会议' } }, BUREAU],
    ...units.map((u): [CampaignCommand, Actor] => [
      { type: 'SubmitDeliverable', data: { unit: u.id, deliverable: 'rectification-plan', title: `${u.name}整改方案`, content: '问题、措施、责任人、时限' } },
      { sub: `${u.id}-secretary`, role: 'unit', unit: u.id },
    ]),
    ...units.map((u): [CampaignCommand, Actor] => [{ type: 'ReviewDeliverable', data: { unit: u.id, deliverable: 'rectification-plan', decision: 'approved' } }, BUREAU]),
  ];
  let state: CampaignState | null = null;
  const out: RecordedCampaignEvent[] = [];
  let t = Date.parse('2013-08-22T01:00:00.000Z');
  for (const [command, actor] of commands) {
    t += 3_600_000;
    const now = new Date(t);
    const decided = decide(command, state, { actor, now });
    const head = out.length ? { revision: out.length - 1, hash: out[out.length - 1].metadata.hash } : null;
    const linked = linkEvents(
      head,
      decided.map((e) => ({ type: e.type, data: e.data, metadata: { actor, occurredAt: now.toISOString(), correlationId: `c-${out.length}` } })),
    );
    for (const d of linked) {
      const recorded = { ...d, revision: out.length, position: out.length + 1 } as unknown as RecordedCampaignEvent;
      out.push(recorded);
      state = evolve(state, recorded);
    }
  }
  return out;
}

/** A deep copy, so a test can tamper with it freely. */
export const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value));
