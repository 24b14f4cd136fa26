import { addDuration } from '../../workflows/domain/duration';
import type { EvaluationFact, GuardFacts, UnitStatus } from '../../workflows/domain/guards';
import { CampaignEvaluation, CampaignState, openedInOrder, stageOf } from './campaign-state';
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

export function evaluationFact(e: CampaignEvaluation): EvaluationFact {
  const closed = e.status === 'closed';
  const groups: EvaluationFact['groups'] = {};
  for (const [g, c] of Object.entries(e.groups)) groups[g] = { issued: c.issued, cast: closed ? (c.cast ?? 0) : null };
  return { id: e.id, status: e.status, issued: e.issued, cast: closed ? (e.cast ?? 0) : null, groups };
}

export function guardFacts(state: CampaignState, now: Date): GuardFacts {
  const stage = state.stage;
  return {
    now,
    stageEnteredAt: state.stageEnteredAt,
    deadline: stageDeadline(state),
    unitIds: state.units.map((u) => u.id),
    statusOf: (unit, deliverable) => deliverableStatus(state, unit, deliverable, stage),
    evaluationsOf: (evaluation) => currentEvaluations(state, evaluation).map(evaluationFact),
  };
}

/**
 * The evaluations of a workflow evaluation that count now: the latest one opened for each
 * unit (or for the campaign as a whole), so a re-run supersedes a failed one.
 */
export function currentEvaluations(state: CampaignState, evaluation: string): CampaignEvaluation[] {
  const latest = new Map<string, CampaignEvaluation>();
  for (const e of openedInOrder(state)) {
    if (e.evaluation !== evaluation) continue;
    const key = e.unit ?? '';
    latest.delete(key);
    latest.set(key, e);
  }
  return [...latest.values()];
}
