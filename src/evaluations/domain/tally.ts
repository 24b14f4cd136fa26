import { createHash } from 'node:crypto';
import { canonicalJson } from '../../audit/domain/hash-chain';
import type { EvaluationSetup } from './evaluation-events';

/** What the tally reads of a ballot. */
export interface BallotLike {
  group: string;
  ratings: Record<string, string>;
}

/** Votes for one subject (from one group, or from all), per grade. */
export interface RatingSummary {
  /** Ballots that rated the subject (a ballot may abstain on a subject). */
  votes: number;
  /** Grade id → number of ratings, for every grade of the scale. */
  counts: Record<string, number>;
  /**
   * For one group: the average of the grades' scores. For the subject overall: the
   * weighted score, Σ weight·average / Σ weight over the groups that rated it. null without votes.
   */
  score: number | null;
  /** Share of the votes given the best grade (优秀率), raw count over votes. */
  excellentShare: number | null;
  /** Share of the votes given the worst grade (不称职率), raw count over votes. */
  incompetentShare: number | null;
}

export interface Tally {
  /** The scale's grade ids, best first. */
  grades: string[];
  issued: number;
  cast: number;
  /** cast / issued. */
  turnout: number;
  groups: { id: string; weight: number; issued: number; cast: number; turnout: number }[];
  subjects: (RatingSummary & { id: string; name: string; groups: (RatingSummary & { id: string })[] })[];
}

/** Running counts: the tally at close and the auditor's recount fold ballots with the same two functions. */
export interface TallyAccumulator {
  setup: EvaluationSetup;
  subjectIndex: Map<string, number>;
  groupIndex: Map<string, number>;
  gradeIndex: Map<string, number>;
  /** counts[(subject · groups + group) · grades + grade] */
  counts: Uint32Array;
  /** Ballots cast per group. */
  cast: Uint32Array;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const indexOf = (items: { id: string }[]) => new Map(items.map((x, i) => [x.id, i]));

export function newTally(setup: EvaluationSetup): TallyAccumulator {
  const { subjects, groups, scale } = setup;
  return {
    setup,
    subjectIndex: indexOf(subjects),
    groupIndex: indexOf(groups),
    gradeIndex: indexOf(scale),
    counts: new Uint32Array(subjects.length * groups.length * scale.length),
    cast: new Uint32Array(groups.length),
  };
}

/**
 * Counts one ballot. Ratings of subjects or grades the evaluation does not have are not
 * counted (decide refuses such ballots; the audit reports any found in a log), and a
 * ballot of an unknown group is not counted at all.
 */
export function addBallot(acc: TallyAccumulator, ballot: BallotLike): void {
  const g = acc.groupIndex.get(ballot.group);
  if (g === undefined) return;
  acc.cast[g] += 1;
  const groups = acc.setup.groups.length;
  const grades = acc.setup.scale.length;
  for (const [subject, grade] of Object.entries(ballot.ratings)) {
    const s = acc.subjectIndex.get(subject);
    const k = acc.gradeIndex.get(grade);
    if (s === undefined || k === undefined) continue;
    acc.counts[(s * groups + g) * grades + k] += 1;
  }
}

function summary(counts: ArrayLike<number>, scale: EvaluationSetup['scale']): Omit<RatingSummary, 'score'> & { average: number | null } {
  let votes = 0;
  let points = 0;
  const byGrade: Record<string, number> = {};
  scale.forEach((grade, k) => {
    const n = counts[k];
    byGrade[grade.id] = n;
    votes += n;
    points += n * grade.score;
  });
  return {
    votes,
    counts: byGrade,
    average: votes ? points / votes : null,
    excellentShare: votes ? round6(counts[0] / votes) : null,
    incompetentShare: votes ? round6(counts[scale.length - 1] / votes) : null,
  };
}

/** The published form of the counts. */
export function finishTally(acc: TallyAccumulator): Tally {
  const { subjects, groups, scale } = acc.setup;
  const G = groups.length;
  const K = scale.length;
  const issued = groups.reduce((n, g) => n + g.ballots, 0);
  const cast = acc.cast.reduce((n, c) => n + c, 0);
  return {
    grades: scale.map((k) => k.id),
    issued,
    cast,
    turnout: issued ? round6(cast / issued) : 0,
    groups: groups.map((g, i) => ({ id: g.id, weight: g.weight, issued: g.ballots, cast: acc.cast[i], turnout: g.ballots ? round6(acc.cast[i] / g.ballots) : 0 })),
    subjects: subjects.map((subject, s) => {
      const total = new Array<number>(K).fill(0);
      let weighted = 0;
      let weights = 0;
      const perGroup = groups.map((group, g) => {
        const slice = acc.counts.subarray((s * G + g) * K, (s * G + g + 1) * K);
        slice.forEach((n, k) => (total[k] += n));
        const { average, ...rest } = summary(slice, scale);
        if (average !== null) {
          weighted += group.weight * average;
          weights += group.weight;
        }
        return { id: group.id, ...rest, score: average === null ? null : round6(average) };
      });
      const { average: _unweighted, ...overall } = summary(total, scale);
      return { id: subject.id, name: subject.name, ...overall, score: weights ? round6(weighted / weights) : null, groups: perGroup };
    }),
  };
}

/** The tally of a list of ballots: what EvaluationClosed publishes, and what an auditor recomputes from the log. */
export function computeTally(setup: EvaluationSetup, ballots: Iterable<BallotLike>): Tally {
  const acc = newTally(setup);
  for (const b of ballots) addBallot(acc, b);
  return finishTally(acc);
}

/** sha-256 of the tally's canonical JSON: published with it and recorded in the campaign's stream. */
export function tallyHash(tally: Tally): string {
  return createHash('sha256').update(canonicalJson(tally)).digest('hex');
}
