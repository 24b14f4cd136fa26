import type { Actor } from '../../common/domain/domain-error';
import type { GradeDefinition, LocalizedText } from '../../workflows/domain/workflow-definition';
import type { Tally } from './tally';

/** Every evaluation has its own stream, so its ballots never weigh on the campaign's replay. */
export const evaluationStream = (evaluationId: string) => `evaluation-${evaluationId}`;
export const EVALUATION_STREAM_PREFIX = 'evaluation-';

export interface Subject {
  id: string;
  name: string;
}

export interface VoterGroup {
  id: string;
  title: LocalizedText;
  weight: number;
  /** Ballots (one-time tokens) issued to the group. */
  ballots: number;
}

/** What an evaluation rates, on which scale, and who votes: everything a tally needs besides the ballots. */
export interface EvaluationSetup {
  subjects: Subject[];
  /** Best grade first. */
  scale: GradeDefinition[];
  groups: VoterGroup[];
}

export interface EvaluationOpened {
  type: 'EvaluationOpened';
  data: EvaluationSetup & {
    evaluationId: string;
    campaignId: string;
    stage: string;
    /** The evaluation's id in the workflow. */
    evaluation: string;
    title: string;
    subjectKind: 'leaders' | 'units';
    unit?: string;
    /**
     * sha-256 (hex) of every token issued, per group, sorted (not in the order printed).
     * The tokens themselves are never stored: they were shown once, to the bureau.
     */
    tokenHashes: Record<string, string[]>;
    /** Fingerprint of the service key that derives ballot nullifiers (see docs/evaluations.md). */
    nullifierKey: string;
  };
}

/**
 * One anonymous ballot. It names the voter group (the tally is per group) and the ratings,
 * and a nullifier: a keyed hash of the token that only the service can compute, so a
 * token is spent once while nobody holding the token sheet and the log can link them.
 * Its metadata holds no actor, no correlation id and only the day.
 */
export interface BallotCast {
  type: 'BallotCast';
  data: {
    group: string;
    /** subject id → grade id; subjects left out are abstentions. */
    ratings: Record<string, string>;
    nullifier: string;
  };
}

/** The published result: the tally over every ballot cast, and its hash (also recorded in the campaign's stream). */
export interface EvaluationClosed {
  type: 'EvaluationClosed';
  data: { tally: Tally; tallyHash: string };
}

/** The campaign refused to record the opening (it moved on meanwhile): the tokens were never handed out. */
export interface EvaluationCancelled {
  type: 'EvaluationCancelled';
  data: { reason: string };
}

export type EvaluationEvent = EvaluationOpened | BallotCast | EvaluationClosed | EvaluationCancelled;
export type EvaluationEventType = EvaluationEvent['type'];

/** The actor every ballot carries: nobody in particular. */
export const VOTER: { sub: 'anonymous'; role: 'voter' } = { sub: 'anonymous', role: 'voter' };

export interface EvaluationEventMetadata {
  actor: Actor | typeof VOTER;
  /** Domain time; for ballots only the day (UTC midnight), see ballotMetadata. */
  occurredAt: string;
  correlationId?: string;
  prevHash: string;
  hash: string;
}

export type RecordedEvaluationEvent = EvaluationEvent & {
  id: string;
  revision: number;
  metadata: EvaluationEventMetadata;
};
