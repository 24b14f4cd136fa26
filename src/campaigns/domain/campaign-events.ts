import type { Actor } from '../../common/domain/domain-error';
import type { WorkflowDefinition } from '../../workflows/domain/workflow-definition';

export const campaignStream = (campaignId: string) => `campaign-${campaignId}`;

export interface UnitRef {
  id: string;
  name: string;
}

export interface CampaignLaunched {
  type: 'CampaignLaunched';
  data: {
    campaignId: string;
    title: string;
    /** The full definition in force: later edits of workflows/ never change a replay. */
    workflow: WorkflowDefinition;
    units: UnitRef[];
    /** Absolute deadlines per stage id (ISO instants, UTC). */
    deadlines: Record<string, string>;
    stage: string;
  };
}

export interface DeliverableSubmitted {
  type: 'DeliverableSubmitted';
  data: {
    stage: string;
    unit: string;
    deliverable: string;
    title: string;
    content?: string;
    url?: string;
    /** 1 for the first submission, +1 for each resubmission. */
    version: number;
  };
}

export interface DeliverableReviewed {
  type: 'DeliverableReviewed';
  data: {
    stage: string;
    unit: string;
    deliverable: string;
    decision: 'approved' | 'returned';
    comment?: string;
    version: number;
  };
}

export interface StageAdvanced {
  type: 'StageAdvanced';
  data: { from: string; to: string; event: string; reason?: string };
}

export interface CampaignCompleted {
  type: 'CampaignCompleted';
  data: { stage: string };
}

/**
 * The campaign's record that one of its stage's evaluations was opened. The evaluation
 * itself (tokens, ballots, tally) lives in its own stream `evaluation-<evaluationId>`; the
 * campaign keeps only what its guards judge, so 50,000 ballots never slow its replay.
 */
export interface CampaignEvaluationOpened {
  type: 'CampaignEvaluationOpened';
  data: {
    evaluationId: string;
    /** The evaluation's id in the workflow (what guards name). */
    evaluation: string;
    stage: string;
    title: string;
    /** The unit the evaluation is held for (e.g. one school's leadership), if any. */
    unit?: string;
    /** Ballots issued, overall and per voter group. */
    issued: number;
    groups: Record<string, { issued: number }>;
  };
}

/** The published turnout of a closed evaluation, and the hash of its tally (anchoring it in this chain). */
export interface CampaignEvaluationClosed {
  type: 'CampaignEvaluationClosed';
  data: {
    evaluationId: string;
    evaluation: string;
    stage: string;
    issued: number;
    cast: number;
    groups: Record<string, { issued: number; cast: number }>;
    /** sha-256 of the canonical JSON of the tally in EvaluationClosed. */
    tallyHash: string;
  };
}

/** The bureau moved a stage's deadline (absolute from now on), with its reason. */
export interface DeadlineChanged {
  type: 'DeadlineChanged';
  data: { stage: string; from: string | null; to: string; reason: string };
}

export type CampaignEvent =
  | CampaignLaunched
  | DeadlineChanged
  | DeliverableSubmitted
  | DeliverableReviewed
  | StageAdvanced
  | CampaignCompleted
  | CampaignEvaluationOpened
  | CampaignEvaluationClosed;

export type CampaignEventType = CampaignEvent['type'];

export const CAMPAIGN_EVENT_TYPES: readonly CampaignEventType[] = [
  'CampaignLaunched',
  'DeadlineChanged',
  'DeliverableSubmitted',
  'DeliverableReviewed',
  'StageAdvanced',
  'CampaignCompleted',
  'CampaignEvaluationOpened',
  'CampaignEvaluationClosed',
];

/** What every stored event carries besides its data. */
export interface EventMetadata {
  actor: Actor;
  /** Domain time, from the Clock at decision time (ISO, UTC). */
  occurredAt: string;
  correlationId: string;
  causationId?: string;
  /** Set when the command carried an Idempotency-Key. */
  idempotencyKey?: string;
  /** Fingerprint of the request that carried the key, to refuse reusing a key for another request. */
  requestHash?: string;
  prevHash: string;
  hash: string;
}

/** An event as the domain folds it: the stored envelope. */
export type RecordedCampaignEvent = CampaignEvent & {
  id: string;
  revision: number;
  metadata: EventMetadata;
};
