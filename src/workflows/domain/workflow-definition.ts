/**
 * A campaign type, as declared in workflows/*.yaml and validated against
 * workflows/workflow.schema.json. CampaignLaunched carries the whole definition,
 * so a replay years later uses the rules that were in force.
 */
export interface LocalizedText {
  zh: string;
  en: string;
}

export interface DeliverableDefinition {
  id: string;
  title: LocalizedText;
  description?: LocalizedText;
  /** The bureau must approve it (approved | returned) before allUnitsApproved holds. */
  review: boolean;
}

/** Named, parameterised guards. Each entry of `guards` is an object with exactly one key. */
export type GuardDefinition =
  | { allUnitsSubmitted: { deliverable: string } }
  | { allUnitsApproved: { deliverable: string } }
  /** Holds once `now` is at or past the instant: an absolute date, the stage deadline, or a duration after stage entry. */
  | { after: { date: string } | { deadline: true } | { duration: string } };

export type GuardName = 'allUnitsSubmitted' | 'allUnitsApproved' | 'after';

export interface TransitionDefinition {
  /** Upper-case event name sent by the bureau, e.g. ADVANCE, COMPLETE. */
  event: string;
  target: string;
  description?: LocalizedText;
  /** All must hold. */
  guards?: GuardDefinition[];
}

export interface ReminderPolicy {
  /** ISO-8601 duration before the deadline for the first reminder, e.g. P3D. */
  before?: string;
  /** Remind when the deadline passes. */
  at?: boolean;
  /** Repeat after the deadline at this interval, e.g. P2D. */
  every?: string;
  /** Escalate to the leading group this long after the deadline, e.g. P7D. */
  escalateAfter?: string;
}

export interface StageDefinition {
  id: string;
  title: LocalizedText;
  description?: LocalizedText;
  /** Relative deadline: ISO-8601 duration after stage entry. A campaign may set absolute ones at launch. */
  deadline?: string;
  deliverables?: DeliverableDefinition[];
  transitions?: TransitionDefinition[];
  reminders?: ReminderPolicy;
  /** Reaching a final stage completes the campaign. */
  final?: boolean;
}

export interface WorkflowDefinition {
  id: string;
  version: number;
  title: LocalizedText;
  description?: LocalizedText;
  /** Where the rules come from (the notice, its date). */
  source?: string;
  initial: string;
  stages: StageDefinition[];
}
