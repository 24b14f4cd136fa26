import { DomainError } from '../../common/domain/domain-error';
import { DEFAULT_SCALE, EvaluationDefinition, GradeDefinition } from '../../workflows/domain/workflow-definition';
import type { BallotCast, EvaluationEvent, EvaluationOpened, EvaluationSetup, Subject, VoterGroup } from './evaluation-events';
import type { EvaluationState } from './evaluation-state';
import { finishTally, tallyHash } from './tally';

/** What one evaluation may hold; beyond it the request is refused whole. */
export const EVALUATION_LIMITS = {
  subjects: 200,
  groups: 20,
  ballotsPerGroup: 100_000,
  /** The opening event stores a hash per ballot: 200,000 of them are about 13 MB. */
  ballotsTotal: 200_000,
};

export interface SetupRequest {
  subjects?: Subject[];
  groups?: { id: string; title?: string; weight?: number; ballots?: number }[];
}

const invalid = (message: string, details: Record<string, unknown> = {}) => new DomainError('INVALID_EVALUATION', message, details);

/**
 * The subjects, scale and voter groups of an evaluation about to be opened: the workflow's
 * definition of it, completed by the bureau's request (leaders' names, ballot counts, or
 * other groups and weights). Units evaluations rate the campaign's units unless told otherwise.
 */
export function resolveSetup(definition: EvaluationDefinition, request: SetupRequest, units: readonly Subject[]): EvaluationSetup {
  let subjects = request.subjects?.length ? request.subjects.map((s) => ({ id: s.id, name: s.name })) : undefined;
  if (!subjects) {
    if (definition.subjects !== 'units') throw invalid(`evaluation ${definition.id} rates leaders: name them in subjects`, { field: 'subjects' });
    subjects = units.map((u) => ({ id: u.id, name: u.name }));
  }
  if (subjects.length > EVALUATION_LIMITS.subjects) {
    throw invalid(`an evaluation rates at most ${EVALUATION_LIMITS.subjects} subjects, not ${subjects.length}; name them in subjects`, { field: 'subjects' });
  }
  duplicates(subjects, 'subject');

  const defaults = definition.groups ?? [];
  let groups: VoterGroup[];
  if (request.groups?.length) {
    groups = request.groups.map((g) => {
      const d = defaults.find((x) => x.id === g.id);
      const weight = g.weight ?? d?.weight;
      const ballots = g.ballots ?? d?.ballots;
      if (weight === undefined) throw invalid(`voter group ${g.id} is not defined for evaluation ${definition.id}: give its weight`, { group: g.id });
      if (ballots === undefined) throw invalid(`give the number of ballots for voter group ${g.id}`, { group: g.id });
      return { id: g.id, title: g.title ? { zh: g.title, en: g.title } : (d?.title ?? { zh: g.id, en: g.id }), weight, ballots };
    });
  } else {
    if (defaults.length === 0) throw invalid(`evaluation ${definition.id} defines no voter groups: give them in groups`, { field: 'groups' });
    groups = defaults.map((d) => {
      if (d.ballots === undefined) throw invalid(`give the number of ballots for voter group ${d.id} (groups: [{id: "${d.id}", ballots: N}])`, { group: d.id });
      return { id: d.id, title: d.title, weight: d.weight, ballots: d.ballots };
    });
  }
  if (groups.length > EVALUATION_LIMITS.groups) throw invalid(`at most ${EVALUATION_LIMITS.groups} voter groups`, { field: 'groups' });
  duplicates(groups, 'voter group');
  for (const g of groups) {
    if (!(g.weight > 0)) throw invalid(`voter group ${g.id} needs a weight above 0`, { group: g.id });
    if (!Number.isInteger(g.ballots) || g.ballots < 1 || g.ballots > EVALUATION_LIMITS.ballotsPerGroup) {
      throw invalid(`voter group ${g.id} gets 1 to ${EVALUATION_LIMITS.ballotsPerGroup} ballots, not ${g.ballots}`, { group: g.id });
    }
  }
  const total = groups.reduce((n, g) => n + g.ballots, 0);
  if (total > EVALUATION_LIMITS.ballotsTotal) throw invalid(`at most ${EVALUATION_LIMITS.ballotsTotal} ballots in one evaluation, not ${total}`, { ballots: total });

  const scale: GradeDefinition[] = (definition.scale ?? DEFAULT_SCALE).map((k) => ({ id: k.id, title: k.title, score: k.score }));
  return { subjects, scale, groups };
}

function duplicates(items: { id: string }[], what: string): void {
  const seen = new Set<string>();
  for (const x of items) {
    if (seen.has(x.id)) throw invalid(`${what} ${x.id} is listed twice`, { id: x.id });
    seen.add(x.id);
  }
}

export type EvaluationCommand =
  | { type: 'OpenEvaluation'; data: EvaluationOpened['data'] }
  | { type: 'CloseEvaluation' }
  | { type: 'CancelEvaluation'; data: { reason: string } };

/** decide(command, state) → events, or a DomainError naming why not. Pure. */
export function decide(command: EvaluationCommand, state: EvaluationState | null): EvaluationEvent[] {
  switch (command.type) {
    case 'OpenEvaluation':
      return openEvaluation(command.data, state);
    case 'CloseEvaluation': {
      const s = requireOpen(state);
      const tally = finishTally(s.counts);
      return [{ type: 'EvaluationClosed', data: { tally, tallyHash: tallyHash(tally) } }];
    }
    case 'CancelEvaluation':
      requireOpen(state);
      return [{ type: 'EvaluationCancelled', data: { reason: command.data.reason } }];
  }
}

function openEvaluation(data: EvaluationOpened['data'], state: EvaluationState | null): EvaluationEvent[] {
  if (state) throw new DomainError('EVALUATION_EXISTS', `evaluation ${data.evaluationId} already exists`, { id: data.evaluationId });
  const seen = new Set<string>();
  for (const g of data.groups) {
    const hashes = data.tokenHashes[g.id] ?? [];
    if (hashes.length !== g.ballots) throw invalid(`voter group ${g.id} has ${g.ballots} ballots but ${hashes.length} tokens`, { group: g.id });
    for (const h of hashes) {
      if (seen.has(h)) throw invalid('a token was issued twice', { group: g.id });
      seen.add(h);
    }
  }
  if (Object.keys(data.tokenHashes).some((g) => !data.groups.some((x) => x.id === g))) throw invalid('tokens for a group the evaluation does not have');
  return [{ type: 'EvaluationOpened', data }];
}

export function requireOpen(state: EvaluationState | null): EvaluationState {
  if (!state) throw new DomainError('EVALUATION_NOT_FOUND', 'no such evaluation');
  if (state.status !== 'open') {
    throw new DomainError('EVALUATION_CLOSED', `evaluation ${state.id} is ${state.status}; it takes no more ballots`, { id: state.id, closedAt: state.closedAt });
  }
  return state;
}

/** A ballot as the service hands it to the domain: the token's hash and nullifier, never the token. */
export interface BallotCommand {
  tokenHash: string;
  nullifier: string;
  ratings: Record<string, string>;
}

export type BallotDecision = { event: BallotCast; error?: undefined } | { error: DomainError; event?: undefined };

/**
 * Judges a batch of ballots against the state, in order: each is accepted (one BallotCast)
 * or refused with its own error, and a token spent earlier in the same batch counts as spent.
 * Checks, in this order: the evaluation is open (409), the token was issued (403), it is
 * unspent (409), the ratings name the evaluation's subjects and grades (422).
 */
export function decideBallots(state: EvaluationState | null, ballots: readonly BallotCommand[]): BallotDecision[] {
  const spentHere = new Set<string>();
  return ballots.map((b) => {
    try {
      const s = requireOpen(state);
      const group = s.tokenGroup.get(b.tokenHash);
      if (group === undefined) throw new DomainError('UNKNOWN_TOKEN', 'this token was not issued for this evaluation');
      if (s.spent.has(b.nullifier) || spentHere.has(b.nullifier)) throw new DomainError('TOKEN_ALREADY_USED', 'this token has already been used to vote');
      checkRatings(s, b.ratings);
      spentHere.add(b.nullifier);
      const event: BallotCast = { type: 'BallotCast', data: { group, ratings: { ...b.ratings }, nullifier: b.nullifier } };
      return { event };
    } catch (error) {
      if (error instanceof DomainError) return { error };
      throw error;
    }
  });
}

function checkRatings(state: EvaluationState, ratings: Record<string, string>): void {
  const entries = Object.entries(ratings);
  if (entries.length === 0) throw new DomainError('INVALID_RATING', 'a ballot rates at least one subject');
  const { subjectIndex, gradeIndex } = state.counts;
  for (const [subject, grade] of entries) {
    if (!subjectIndex.has(subject)) {
      throw new DomainError('INVALID_RATING', `this evaluation does not rate ${JSON.stringify(subject)}`, { subject, subjects: state.subjects.map((s) => s.id) });
    }
    if (typeof grade !== 'string' || !gradeIndex.has(grade)) {
      const grades = state.scale.map((k) => k.id);
      throw new DomainError('INVALID_RATING', `${JSON.stringify(grade)} is not a grade of the scale (${grades.join(', ')})`, { subject, grade, grades });
    }
  }
}
