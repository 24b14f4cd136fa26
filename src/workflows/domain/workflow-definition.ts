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

/** One grade of an evaluation's scale. Scales are listed best first, with strictly falling scores. */
export interface GradeDefinition {
  id: string;
  title: LocalizedText;
  /** Points a rating with this grade gives the subject (the weighted score averages them). */
  score: number;
}

/** Who votes in an evaluation: teachers, parents, students, staff-congress delegates… */
export interface VoterGroupDefinition {
  id: string;
  title: LocalizedText;
  /** Relative weight of the group's average in the weighted score (> 0; weights need not sum to 1). */
  weight: number;
  /** Default number of ballots (tokens) issued to the group; the bureau may set it when opening. */
  ballots?: number;
}

/**
 * A democratic evaluation (民主测评 / 民主评议) a stage runs: voters rate subjects (the
 * leaders, or the campaign's units) on a grade scale, anonymously, with one-time tokens.
 */
export interface EvaluationDefinition {
  id: string;
  title: LocalizedText;
  description?: LocalizedText;
  /** leaders: the bureau names them when opening; units: the campaign's units (unless named). */
  subjects: 'leaders' | 'units';
  groups?: VoterGroupDefinition[];
  /** Defaults to DEFAULT_SCALE: 优秀 / 称职 / 基本称职 / 不称职. */
  scale?: GradeDefinition[];
}

/** The customary scale of a 民主测评: excellent, competent, basically competent, incompetent. */
export const DEFAULT_SCALE: readonly GradeDefinition[] = [
  { id: 'excellent', title: { zh: '优秀', en: 'Excellent' }, score: 100 },
  { id: 'competent', title: { zh: '称职', en: 'Competent' }, score: 80 },
  { id: 'basically-competent', title: { zh: '基本称职', en: 'Basically competent' }, score: 60 },
  { id: 'incompetent', title: { zh: '不称职', en: 'Incompetent' }, score: 0 },
];

/** Named, parameterised guards. Each entry of `guards` is an object with exactly one key. */
export type GuardDefinition =
  | { allUnitsSubmitted: { deliverable: string } }
  | { allUnitsApproved: { deliverable: string } }
  /** Holds once `now` is at or past the instant: an absolute date, the stage deadline, or a duration after stage entry. */
  | { after: { date: string } | { deadline: true } | { duration: string } }
  /** Holds once the stage's evaluation has been opened and every evaluation of it is closed. */
  | { evaluationClosed: { evaluation: string } }
  /** Holds once every evaluation of it is closed with at least this share (0..1] of the issued ballots cast, overall or in one group. */
  | { minTurnout: { evaluation: string; turnout: number; group?: string } };

export type GuardName = 'allUnitsSubmitted' | 'allUnitsApproved' | 'after' | 'evaluationClosed' | 'minTurnout';

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
  /** Democratic evaluations the bureau may open while the campaign is in this stage. */
  evaluations?: EvaluationDefinition[];
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
