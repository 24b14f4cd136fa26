import { DomainError, Actor } from '../../common/domain/domain-error';
import { parseIsoInstant } from '../../common/domain/iso-instant';
import type { EvaluationDefinition, GuardDefinition, StageDefinition, WorkflowDefinition } from '../../workflows/domain/workflow-definition';
import { Blocker, evaluateGuards } from '../../workflows/domain/guards';
import { nextStage } from '../../workflows/domain/machine';
import type { CampaignEvaluationClosed, CampaignEvaluationOpened, CampaignEvent, UnitRef } from './campaign-events';
import { CampaignState, stageOf } from './campaign-state';
import { guardFacts, stageDeadline } from './campaign-facts';

export type CampaignCommand =
  | {
      type: 'LaunchCampaign';
      data: { campaignId: string; title: string; workflow: WorkflowDefinition; units: UnitRef[]; deadlines?: Record<string, string> };
    }
  | { type: 'SubmitDeliverable'; data: { unit: string; deliverable: string; title: string; content?: string; url?: string } }
  | { type: 'ReviewDeliverable'; data: { unit: string; deliverable: string; decision: 'approved' | 'returned'; comment?: string } }
  | { type: 'TriggerTransition'; data: { event: string; reason?: string } }
  | { type: 'ChangeDeadline'; data: { stage: string; deadline: string; reason: string } }
  /** An evaluation of the current stage was opened (its own stream holds the rest). */
  | { type: 'RecordEvaluationOpened'; data: CampaignEvaluationOpened['data'] }
  /** An evaluation was closed: its turnout and tally hash, for the guards and the audit. */
  | { type: 'RecordEvaluationClosed'; data: CampaignEvaluationClosed['data'] };

export interface CommandContext {
  actor: Actor;
  /** From the Clock port: the domain never reads the wall clock. */
  now: Date;
}

/** decide(command, state) → events, or a DomainError naming why not. Pure: no I/O, no clock. */
export function decide(command: CampaignCommand, state: CampaignState | null, ctx: CommandContext): CampaignEvent[] {
  switch (command.type) {
    case 'LaunchCampaign':
      return launch(command.data, state);
    case 'SubmitDeliverable':
      return submit(command.data, requireActive(state));
    case 'ReviewDeliverable':
      return review(command.data, requireActive(state));
    case 'ChangeDeadline':
      return changeDeadline(command.data, requireActive(state));
    case 'TriggerTransition':
      return trigger(command.data, requireActive(state), ctx.now);
    case 'RecordEvaluationOpened':
      return recordEvaluationOpened(command.data, requireActive(state));
    case 'RecordEvaluationClosed':
      return recordEvaluationClosed(command.data, state);
  }
}

/**
 * The evaluation `id` of the workflow, if the campaign may open it now: the current stage
 * must declare it. Called before the evaluation's stream is created, and again by decide.
 */
export function evaluationToOpen(state: CampaignState, id: string, unit?: string): EvaluationDefinition {
  const stage = stageOf(state.definition, state.stage);
  const here = stage.evaluations?.find((e) => e.id === id);
  if (unit !== undefined && !state.unitIds.has(unit)) throw new DomainError('UNKNOWN_UNIT', `unit ${unit} is not part of campaign ${state.id}`, { unit });
  if (here) return here;
  const elsewhere = state.definition.stages.find((s) => s.evaluations?.some((e) => e.id === id));
  if (elsewhere) {
    throw new DomainError('EVALUATION_NOT_IN_STAGE', `evaluation ${id} belongs to stage ${elsewhere.id}; the campaign is in stage ${state.stage}`, {
      evaluation: id,
      stage: state.stage,
      evaluationStage: elsewhere.id,
    });
  }
  throw new DomainError('UNKNOWN_EVALUATION', `workflow ${state.definition.id} has no evaluation ${id}`, {
    evaluation: id,
    expected: (stage.evaluations ?? []).map((e) => e.id),
  });
}

function recordEvaluationOpened(data: CampaignEvaluationOpened['data'], state: CampaignState): CampaignEvent[] {
  evaluationToOpen(state, data.evaluation, data.unit);
  if (state.evaluations[data.evaluationId]) {
    throw new DomainError('EVALUATION_EXISTS', `evaluation ${data.evaluationId} is already recorded`, { id: data.evaluationId });
  }
  return [{ type: 'CampaignEvaluationOpened', data: { ...data, stage: state.stage } }];
}

/** A fact about the world: recorded even after the campaign completed, and only once. */
function recordEvaluationClosed(data: CampaignEvaluationClosed['data'], state: CampaignState | null): CampaignEvent[] {
  if (!state) throw new DomainError('CAMPAIGN_NOT_FOUND', 'no such campaign');
  const known = state.evaluations[data.evaluationId];
  if (!known) throw new DomainError('EVALUATION_NOT_FOUND', `campaign ${state.id} has no evaluation ${data.evaluationId}`, { id: data.evaluationId });
  if (known.status === 'closed') return [];
  return [{ type: 'CampaignEvaluationClosed', data: { ...data, evaluation: known.evaluation, stage: known.stage } }];
}

function requireActive(state: CampaignState | null): CampaignState {
  if (!state) throw new DomainError('CAMPAIGN_NOT_FOUND', 'no such campaign');
  if (state.status === 'completed') {
    throw new DomainError('CAMPAIGN_COMPLETED', `campaign ${state.id} is completed; nothing more can change`, { stage: state.stage });
  }
  return state;
}

function launch(data: Extract<CampaignCommand, { type: 'LaunchCampaign' }>['data'], state: CampaignState | null): CampaignEvent[] {
  if (state) throw new DomainError('CAMPAIGN_EXISTS', `campaign ${data.campaignId} already exists`, { id: data.campaignId });
  const def = data.workflow;
  if (data.units.length === 0) throw new DomainError('NO_UNITS', 'a campaign needs at least one unit');
  const seen = new Set<string>();
  for (const u of data.units) {
    // The HTTP layer validates units; a command from anywhere else must not log a unit without an id either.
    if (typeof u?.id !== 'string' || u.id === '' || typeof u.name !== 'string') {
      throw new DomainError('INVALID_UNIT', 'every unit needs a string id and name', { unit: typeof u?.id === 'string' ? u.id : null });
    }
    if (seen.has(u.id)) throw new DomainError('DUPLICATE_UNIT', `unit ${u.id} is listed twice`, { unit: u.id });
    seen.add(u.id);
  }
  const deadlines: Record<string, string> = {};
  for (const [stageId, iso] of Object.entries(data.deadlines ?? {})) {
    const stage = def.stages.find((s) => s.id === stageId);
    if (!stage || stage.final) {
      throw new DomainError('UNKNOWN_STAGE', `workflow ${def.id} has no stage "${stageId}" that can have a deadline`, {
        stage: stageId,
        stages: def.stages.filter((s) => !s.final).map((s) => s.id),
      });
    }
    const t = parseIsoInstant(iso);
    if (t === undefined) {
      throw new DomainError('INVALID_DEADLINE', `deadline for ${stageId} is not an ISO-8601 date-time with a zone, between 1900 and 9999: ${String(iso).slice(0, 40)}`, { stage: stageId });
    }
    deadlines[stageId] = new Date(t).toISOString();
  }
  for (const s of def.stages) {
    const needsDeadline = (s.transitions ?? []).some((t) => (t.guards ?? []).some((g) => 'after' in g && 'deadline' in g.after));
    if (needsDeadline && !s.deadline && !deadlines[s.id]) {
      throw new DomainError('DEADLINE_REQUIRED', `stage ${s.id} waits for its deadline; give one in deadlines.${s.id}`, { stage: s.id });
    }
  }
  return [
    {
      type: 'CampaignLaunched',
      data: { campaignId: data.campaignId, title: data.title, workflow: def, units: data.units, deadlines, stage: def.initial },
    },
  ];
}

function findDeliverable(state: CampaignState, unit: string, deliverable: string) {
  if (!state.unitIds.has(unit)) throw new DomainError('UNKNOWN_UNIT', `unit ${unit} is not part of campaign ${state.id}`, { unit });
  const stage = stageOf(state.definition, state.stage);
  const d = stage.deliverables?.find((x) => x.id === deliverable);
  if (d) return d;
  const elsewhere = state.definition.stages.find((s) => s.deliverables?.some((x) => x.id === deliverable));
  if (elsewhere) {
    throw new DomainError(
      'DELIVERABLE_NOT_IN_STAGE',
      `deliverable ${deliverable} belongs to stage ${elsewhere.id}; the campaign is in stage ${state.stage}`,
      { deliverable, stage: state.stage, deliverableStage: elsewhere.id },
    );
  }
  throw new DomainError('UNKNOWN_DELIVERABLE', `workflow ${state.definition.id} has no deliverable ${deliverable}`, {
    deliverable,
    expected: (stage.deliverables ?? []).map((x) => x.id),
  });
}

function changeDeadline(data: Extract<CampaignCommand, { type: 'ChangeDeadline' }>['data'], state: CampaignState): CampaignEvent[] {
  const stage = state.definition.stages.find((s) => s.id === data.stage);
  if (!stage || stage.final) {
    throw new DomainError('UNKNOWN_STAGE', `workflow ${state.definition.id} has no stage "${data.stage}" that can have a deadline`, {
      stage: data.stage,
      stages: state.definition.stages.filter((s) => !s.final).map((s) => s.id),
    });
  }
  if (state.stages.some((v) => v.stage === data.stage) && data.stage !== state.stage) {
    throw new DomainError('STAGE_ALREADY_LEFT', `stage ${data.stage} is over; only the current or a coming stage's deadline can change`, { stage: data.stage, current: state.stage });
  }
  const t = parseIsoInstant(data.deadline);
  if (t === undefined) {
    throw new DomainError('INVALID_DEADLINE', `deadline is not an ISO-8601 date-time with a zone, between 1900 and 9999: ${String(data.deadline).slice(0, 40)}`, { stage: data.stage });
  }
  const to = new Date(t).toISOString();
  const from = (data.stage === state.stage ? stageDeadline(state) : state.deadlines[data.stage]) ?? null;
  if (from === to) throw new DomainError('DEADLINE_UNCHANGED', `the deadline of ${data.stage} is already ${to}`, { stage: data.stage });
  return [{ type: 'DeadlineChanged', data: { stage: data.stage, from, to, reason: data.reason } }];
}

function submit(data: Extract<CampaignCommand, { type: 'SubmitDeliverable' }>['data'], state: CampaignState): CampaignEvent[] {
  findDeliverable(state, data.unit, data.deliverable);
  const current = state.deliverables[state.stage]?.[data.unit]?.[data.deliverable];
  if (current?.status === 'approved') {
    throw new DomainError('DELIVERABLE_ALREADY_APPROVED', `${data.deliverable} of ${data.unit} is already approved`, {
      unit: data.unit,
      deliverable: data.deliverable,
    });
  }
  const event: CampaignEvent = {
    type: 'DeliverableSubmitted',
    data: { stage: state.stage, unit: data.unit, deliverable: data.deliverable, title: data.title, version: (current?.version ?? 0) + 1 },
  };
  if (data.content !== undefined) event.data.content = data.content;
  if (data.url !== undefined) event.data.url = data.url;
  return [event];
}

function review(data: Extract<CampaignCommand, { type: 'ReviewDeliverable' }>['data'], state: CampaignState): CampaignEvent[] {
  const d = findDeliverable(state, data.unit, data.deliverable);
  if (!d.review) {
    throw new DomainError('REVIEW_NOT_REQUIRED', `deliverable ${d.id} is not reviewed by the bureau`, { deliverable: d.id });
  }
  const current = state.deliverables[state.stage]?.[data.unit]?.[data.deliverable];
  if (!current) {
    throw new DomainError('DELIVERABLE_NOT_SUBMITTED', `${data.unit} has not submitted ${data.deliverable}`, {
      unit: data.unit,
      deliverable: data.deliverable,
    });
  }
  if (current.status !== 'submitted') {
    throw new DomainError('DELIVERABLE_ALREADY_REVIEWED', `${data.deliverable} of ${data.unit} is ${current.status}; it must be resubmitted first`, {
      unit: data.unit,
      deliverable: data.deliverable,
      status: current.status,
    });
  }
  const event: CampaignEvent = {
    type: 'DeliverableReviewed',
    data: { stage: state.stage, unit: data.unit, deliverable: data.deliverable, decision: data.decision, version: current.version },
  };
  if (data.comment !== undefined) event.data.comment = data.comment;
  return [event];
}

export interface TransitionOption {
  event: string;
  target: string;
  allowed: boolean;
  blockers: Blocker[];
}

/** Every transition declared out of the current stage, with whether its guards hold now and what blocks it. */
export function transitionOptions(state: CampaignState, now: Date): TransitionOption[] {
  if (state.status === 'completed') return [];
  const stage: StageDefinition = stageOf(state.definition, state.stage);
  const facts = guardFacts(state, now);
  return (stage.transitions ?? []).map((t) => {
    const blockers = evaluateGuards(t.guards as GuardDefinition[] | undefined, facts);
    return { event: t.event, target: t.target, allowed: blockers.length === 0, blockers };
  });
}

function trigger(data: Extract<CampaignCommand, { type: 'TriggerTransition' }>['data'], state: CampaignState, now: Date): CampaignEvent[] {
  const options = transitionOptions(state, now).filter((o) => o.event === data.event);
  if (options.length === 0) {
    const stage = stageOf(state.definition, state.stage);
    throw new DomainError('UNKNOWN_TRANSITION', `stage ${state.stage} has no transition ${data.event}`, {
      event: data.event,
      stage: state.stage,
      events: [...new Set((stage.transitions ?? []).map((t) => t.event))],
    });
  }
  const next = nextStage(state.definition, state.stage, { type: data.event, facts: guardFacts(state, now) });
  if (!next) {
    throw new DomainError('GUARD_REJECTED', `cannot ${data.event} from ${state.stage}: a guard does not hold`, {
      event: data.event,
      stage: state.stage,
      blockers: options.flatMap((o) => o.blockers),
    });
  }
  const advanced: CampaignEvent = { type: 'StageAdvanced', data: { from: state.stage, to: next.to, event: data.event } };
  if (data.reason !== undefined) advanced.data.reason = data.reason;
  return next.final ? [advanced, { type: 'CampaignCompleted', data: { stage: next.to } }] : [advanced];
}
