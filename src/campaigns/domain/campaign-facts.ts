import { addDuration } from '../../workflows/domain/duration';
import type { GuardFacts, UnitStatus } from '../../workflows/domain/guards';
import { CampaignState, stageOf } from './campaign-state';
import type { WorkflowDefinition } from '../../workflows/domain/workflow-definition';

/** The deadline of a stage as this campaign sees it: absolute (set at launch) wins over the definition's relative one. */
export function stageDeadline(state: CampaignState, stageId = state.stage, enteredAt = state.stageEnteredAt): string | undefined {
  return deadlineOf(state.definition, state.deadlines, stageId, enteredAt);
}

/** The same rule from plain parts, for read models that keep no folded state. */
export function deadlineOf(definition: WorkflowDefinition, deadlines: Record<string, string>, stageId: string, enteredAt: string): string | undefined {
  const absolute = deadlines[stageId];
  if (absolute) return absolute;
  const relative = stageOf(definition, stageId).deadline;
  return relative ? addDuration(enteredAt, relative).toISOString() : undefined;
}

export function deliverableStatus(state: CampaignState, unit: string, deliverable: string, stage = state.stage): UnitStatus {
  return state.deliverables[stage]?.[unit]?.[deliverable]?.status ?? 'missing';
}

export function guardFacts(state: CampaignState, now: Date): GuardFacts {
  const stage = state.stage;
  return {
    now,
    stageEnteredAt: state.stageEnteredAt,
    deadline: stageDeadline(state),
    unitIds: state.units.map((u) => u.id),
    statusOf: (unit, deliverable) => deliverableStatus(state, unit, deliverable, stage),
  };
}
