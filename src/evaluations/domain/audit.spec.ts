import { N, opened, T } from '../../../test/evaluations/evaluation-spec';
import { BUREAU } from '../../../test/support/campaign-spec';
import { linkEvents } from '../../event-store/chained-append';
import { auditEvaluation, campaignAnchor } from './audit';
import type { EvaluationEvent, RecordedEvaluationEvent } from './evaluation-events';
import { computeTally, tallyHash } from './tally';
import { ballotMetadata } from './tokens';

const open = opened([
  { id: 'teachers', ballots: 3, weight: 2 },
  { id: 'parents', ballots: 2, weight: 1 },
]);
const vote = (token: string, group: string, ratings: Record<string, string>): EvaluationEvent => ({ type: 'BallotCast', data: { group, ratings, nullifier: N(token) } });
const ballots = [
  vote(T('teachers', 0), 'teachers', { principal: 'excellent', secretary: 'competent' }),
  vote(T('teachers', 1), 'teachers', { principal: 'competent' }),
  vote(T('parents', 0), 'parents', { principal: 'incompetent', secretary: 'excellent' }),
];
const now = new Date('2005-05-10T09:41:07.000Z');

/** A stream as the service writes it: hash-chained, ballots with anonymous metadata. */
function stream(events: EvaluationEvent[], ballotMeta: Record<string, unknown> = ballotMetadata(now)): RecordedEvaluationEvent[] {
  return linkEvents(
    null,
    events.map((e) => ({
      type: e.type,
      data: e.data,
      metadata: e.type === 'BallotCast' ? ballotMeta : { actor: BUREAU, occurredAt: now.toISOString(), correlationId: 'c' },
    })),
  ).map((e, i) => ({ ...e, revision: i })) as unknown as RecordedEvaluationEvent[];
}
const closing = (tally = computeTally(open.data, ballots.map((b) => (b as any).data))): EvaluationEvent => ({ type: 'EvaluationClosed', data: { tally, tallyHash: tallyHash(tally) } });

describe("an auditor's recount of an evaluation", () => {
  it('agrees with an honest published tally', () => {
    const report = auditEvaluation(stream([open, ...ballots, closing()]));
    expect(report).toMatchObject({ ok: true, status: 'closed', ballots: 3, chain: { ok: true }, rules: { ok: true, problems: [] }, matches: true, differences: [] });
    expect(report.recomputed!.tallyHash).toBe(report.published!.tallyHash);
  });

  it('recounts an open evaluation, with nothing published to compare yet', () => {
    expect(auditEvaluation(stream([open, ...ballots]))).toMatchObject({ ok: true, status: 'open', matches: null, published: null, ballots: 3 });
  });

  it('names where a published tally differs from the ballots, even in an intact chain', () => {
    const honest = computeTally(open.data, ballots.map((b) => (b as any).data));
    const forged = structuredClone(honest);
    forged.subjects[0].counts.incompetent = 0;
    forged.subjects[0].counts.excellent = 2;
    const report = auditEvaluation(stream([open, ...ballots, closing(forged)]));
    expect(report).toMatchObject({ ok: false, matches: false, chain: { ok: true }, published: { hashOk: true } });
    expect(report.differences).toEqual([
      { path: 'subjects[principal].counts.excellent', published: 2, recomputed: 1 },
      { path: 'subjects[principal].counts.incompetent', published: 0, recomputed: 1 },
    ]);
  });

  it('finds a ballot edited in the store by its broken hash chain', () => {
    const events = stream([open, ...ballots, closing()]);
    (events[2].data as any).ratings.principal = 'excellent';
    const report = auditEvaluation(events);
    expect(report.ok).toBe(false);
    expect(report.chain).toEqual({ ok: false, firstBadEvent: expect.objectContaining({ kind: 'hash-mismatch', revision: 2 }) });
  });

  it('flags a token voting twice, a ballot after the close, outside the scale, and more ballots than issued', () => {
    const extra = [
      vote(T('teachers', 0), 'teachers', { principal: 'excellent' }),
      vote(T('parents', 1), 'parents', { principal: 'superb' }),
      vote(T('parents', 2), 'parents', { secretary: 'competent' }),
    ];
    const report = auditEvaluation(stream([open, ...ballots, ...extra, closing(computeTally(open.data, [...ballots, ...extra].map((b) => (b as any).data))), vote('late', 'teachers', { principal: 'excellent' })]));
    expect(report.ok).toBe(false);
    expect(report.rules.problems.map((p) => [p.revision, p.problem])).toEqual([
      [4, 'a token voted twice (its nullifier appears again)'],
      [5, 'a rating "superb" outside the scale'],
      [8, 'a ballot after the evaluation was closed (not counted)'],
      [-1, 'group parents cast 3 ballots but was issued 2'],
    ]);
  });

  it('flags a ballot that carries more than its group, ratings and nullifier, or a voter, or the time of day', () => {
    const report = auditEvaluation(stream([open, ...ballots], { actor: { sub: 'teacher-17', role: 'unit' }, occurredAt: now.toISOString(), userAgent: 'x' }));
    expect(report.rules.problems.slice(0, 3).map((p) => p.problem)).toEqual([
      "a ballot's metadata carries userAgent",
      "a ballot's actor is not the anonymous voter",
      "a ballot's time is finer than the day",
    ]);
  });

  it('checks the tally hash the campaign recorded against the published one', () => {
    const report = auditEvaluation(stream([open, ...ballots, closing()]));
    const campaign = (tallyHashRecorded: string) => ({ id: 'c1', evaluations: { 'ev-1': { status: 'closed', tallyHash: tallyHashRecorded } } });
    expect(campaignAnchor(campaign(report.published!.tallyHash), 'ev-1', report)).toEqual({ id: 'c1', recorded: true, tallyHashMatches: true, ok: true });
    expect(campaignAnchor(campaign('f'.repeat(64)), 'ev-1', report)).toMatchObject({ tallyHashMatches: false, ok: false });
    expect(campaignAnchor({ id: 'c1', evaluations: {} }, 'ev-1', report)).toMatchObject({ recorded: false, ok: false });
  });
});
