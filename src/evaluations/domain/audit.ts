import { canonicalJson, ChainProblem, verifyChain } from '../../audit/domain/hash-chain';
import type { BallotCast, EvaluationOpened, RecordedEvaluationEvent } from './evaluation-events';
import { VOTER } from './evaluation-events';
import { BallotLike, computeTally, Tally, tallyHash } from './tally';

export interface AuditProblem {
  revision: number;
  eventId: string;
  problem: string;
}

export interface TallyDifference {
  path: string;
  published: unknown;
  recomputed: unknown;
}

export interface EvaluationAudit {
  evaluationId: string | null;
  /** The chain holds, the log keeps the rules, and (once closed) the published tally equals the recount. */
  ok: boolean;
  status: 'open' | 'closed' | 'cancelled' | 'missing';
  events: number;
  /** Ballots counted: those between the opening and the close. */
  ballots: number;
  chain: { ok: true } | { ok: false; firstBadEvent: ChainProblem };
  rules: { ok: boolean; problems: AuditProblem[] };
  recomputed: { tally: Tally; tallyHash: string } | null;
  /** The tally in EvaluationClosed, and whether its recorded hash is its hash. */
  published: { tally: Tally; tallyHash: string; hashOk: boolean } | null;
  /** null while the evaluation is open (nothing published yet). */
  matches: boolean | null;
  differences: TallyDifference[];
}

const MAX_LISTED = 50;
const BALLOT_DATA_KEYS = new Set(['group', 'ratings', 'nullifier']);
const BALLOT_METADATA_KEYS = new Set(['actor', 'occurredAt', 'prevHash', 'hash']);

/**
 * An auditor's recount of one evaluation from its stream alone: recompute the hash chain,
 * check that the log keeps the rules (one opening; ballots only while open, from issued
 * groups, on the evaluation's subjects and grades, each nullifier once, never more ballots
 * than issued; ballots carry nothing but group, ratings, nullifier and the day), and
 * recompute the tally with the very functions the close used; then compare it with the
 * published one.
 */
export function auditEvaluation(events: readonly RecordedEvaluationEvent[]): EvaluationAudit {
  const chainCheck = verifyChain(events);
  const problems: AuditProblem[] = [];
  const flag = (e: RecordedEvaluationEvent, problem: string) => {
    if (problems.length < MAX_LISTED) problems.push({ revision: e.revision, eventId: e.id, problem });
  };
  let opened: EvaluationOpened['data'] | null = null;
  let status: EvaluationAudit['status'] = 'missing';
  let published: EvaluationAudit['published'] = null;
  const counted: BallotLike[] = [];
  const nullifiers = new Set<string>();
  const castPerGroup = new Map<string, number>();
  let known: Known | undefined;

  for (const e of events) {
    if (e.type === 'EvaluationOpened') {
      if (opened) flag(e, 'a second EvaluationOpened');
      else if (e.revision !== 0) flag(e, 'EvaluationOpened is not the first event');
      opened ??= e.data;
      if (status === 'missing') status = 'open';
      continue;
    }
    if (!opened) {
      flag(e, `${e.type} before the evaluation was opened`);
      continue;
    }
    if (e.type === 'BallotCast') {
      if (status !== 'open') {
        flag(e, `a ballot after the evaluation was ${status} (not counted)`);
        continue;
      }
      known ??= { groups: new Set(opened.groups.map((g) => g.id)), subjects: new Set(opened.subjects.map((x) => x.id)), grades: new Set(opened.scale.map((k) => k.id)) };
      checkBallot(e as RecordedEvaluationEvent & BallotCast, known, nullifiers, castPerGroup, flag);
      counted.push(e.data);
    } else if (e.type === 'EvaluationClosed') {
      if (status !== 'open') flag(e, `EvaluationClosed after the evaluation was ${status}`);
      else {
        status = 'closed';
        published = { tally: e.data.tally, tallyHash: e.data.tallyHash, hashOk: tallyHash(e.data.tally) === e.data.tallyHash };
        if (!published.hashOk) flag(e, 'the recorded tallyHash is not the hash of the published tally');
      }
    } else if (e.type === 'EvaluationCancelled') {
      if (status !== 'open') flag(e, `EvaluationCancelled after the evaluation was ${status}`);
      else status = 'cancelled';
    } else {
      flag(e, `unknown event type ${(e as { type: string }).type}`);
    }
  }
  if (opened) {
    for (const g of opened.groups) {
      const cast = castPerGroup.get(g.id) ?? 0;
      if (cast > g.ballots) problems.push({ revision: -1, eventId: '', problem: `group ${g.id} cast ${cast} ballots but was issued ${g.ballots}` });
    }
  }

  const tally = opened ? computeTally({ subjects: opened.subjects, scale: opened.scale, groups: opened.groups }, counted) : null;
  const recomputed = tally ? { tally, tallyHash: tallyHash(tally) } : null;
  const differences = published && tally ? diff(published.tally, tally) : [];
  const matches = published && recomputed ? canonicalJson(published.tally) === canonicalJson(recomputed.tally) : null;
  return {
    evaluationId: opened?.evaluationId ?? null,
    ok: chainCheck.ok && problems.length === 0 && opened !== null && matches !== false,
    status,
    events: events.length,
    ballots: counted.length,
    chain: chainCheck.ok ? { ok: true } : { ok: false, firstBadEvent: chainCheck.problem! },
    rules: { ok: problems.length === 0 && opened !== null, problems },
    recomputed,
    published,
    matches,
    differences,
  };
}

interface Known {
  groups: Set<string>;
  subjects: Set<string>;
  grades: Set<string>;
}

function checkBallot(
  e: RecordedEvaluationEvent & BallotCast,
  known: Known,
  nullifiers: Set<string>,
  castPerGroup: Map<string, number>,
  flag: (e: RecordedEvaluationEvent, problem: string) => void,
): void {
  const d = e.data;
  const extraData = Object.keys(d).filter((k) => !BALLOT_DATA_KEYS.has(k));
  if (extraData.length) flag(e, `a ballot carries more than group, ratings and nullifier: ${extraData.join(', ')}`);
  const m = e.metadata as unknown as Record<string, unknown>;
  const extraMeta = Object.keys(m).filter((k) => !BALLOT_METADATA_KEYS.has(k));
  if (extraMeta.length) flag(e, `a ballot's metadata carries ${extraMeta.join(', ')}`);
  if (canonicalJson(m.actor) !== canonicalJson(VOTER)) flag(e, "a ballot's actor is not the anonymous voter");
  if (typeof m.occurredAt !== 'string' || !/T00:00:00(\.000)?Z$/.test(m.occurredAt)) flag(e, "a ballot's time is finer than the day");
  if (!known.groups.has(d.group)) flag(e, `a ballot of group ${d.group}, which was issued no tokens`);
  castPerGroup.set(d.group, (castPerGroup.get(d.group) ?? 0) + 1);
  if (nullifiers.has(d.nullifier)) flag(e, 'a token voted twice (its nullifier appears again)');
  nullifiers.add(d.nullifier);
  const ratings = Object.entries(d.ratings ?? {});
  if (ratings.length === 0) flag(e, 'a ballot rates nobody');
  for (const [subject, grade] of ratings) {
    if (!known.subjects.has(subject)) flag(e, `a rating of ${subject}, who is not a subject`);
    else if (!known.grades.has(grade)) flag(e, `a rating ${JSON.stringify(grade)} outside the scale`);
  }
}

/** Where two tallies differ, as paths (subjects[principal].groups[parents].counts.excellent). */
function diff(published: unknown, recomputed: unknown, path = '', out: TallyDifference[] = []): TallyDifference[] {
  if (out.length >= MAX_LISTED) return out;
  if (published !== null && recomputed !== null && typeof published === 'object' && typeof recomputed === 'object') {
    if (Array.isArray(published) && Array.isArray(recomputed)) {
      const key = (x: unknown, i: number) => (x && typeof x === 'object' && 'id' in x ? String((x as { id: unknown }).id) : String(i));
      const a = new Map(published.map((x, i) => [key(x, i), x]));
      const b = new Map(recomputed.map((x, i) => [key(x, i), x]));
      for (const k of new Set([...a.keys(), ...b.keys()])) diff(a.get(k), b.get(k), `${path}[${k}]`, out);
      return out;
    }
    const keys = new Set([...Object.keys(published as object), ...Object.keys(recomputed as object)]);
    for (const k of keys) diff((published as Record<string, unknown>)[k], (recomputed as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  if (canonicalJson(published) !== canonicalJson(recomputed)) out.push({ path, published, recomputed });
  return out;
}

export interface CampaignAnchor {
  id: string;
  /** The campaign recorded the opening (and, if closed, the close). */
  recorded: boolean;
  /** The tally hash the campaign recorded is the published one. */
  tallyHashMatches: boolean | null;
  ok: boolean;
}

/** What the campaign's own chain says about the evaluation: it anchors the published tally by hash. */
export function campaignAnchor(
  campaign: { id: string; evaluations: Record<string, { status: string; tallyHash?: string }> } | null,
  evaluationId: string,
  audit: EvaluationAudit,
): CampaignAnchor {
  const known = campaign?.evaluations[evaluationId];
  // A cancelled evaluation is one the campaign refused to record.
  if (!campaign || !known) return { id: campaign?.id ?? '', recorded: false, tallyHashMatches: null, ok: audit.status === 'cancelled' };
  if (audit.status !== 'closed') return { id: campaign.id, recorded: true, tallyHashMatches: null, ok: true };
  const recorded = known.status === 'closed';
  const tallyHashMatches = recorded && known.tallyHash === audit.published?.tallyHash && known.tallyHash === audit.recomputed?.tallyHash;
  return { id: campaign.id, recorded, tallyHashMatches, ok: recorded && tallyHashMatches };
}

