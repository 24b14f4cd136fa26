import { N, opened, recordedEvaluation, T } from '../../../test/evaluations/evaluation-spec';
import type { EvaluationEvent } from './evaluation-events';
import { castByGroup, evolve, replay } from './evaluation-state';
import { evaluationView } from './evaluation-view';
import { computeTally, tallyHash } from './tally';

const open = opened([
  { id: 'teachers', ballots: 3 },
  { id: 'parents', ballots: 2 },
]);
const ballots: EvaluationEvent[] = [
  { type: 'BallotCast', data: { group: 'teachers', ratings: { principal: 'excellent' }, nullifier: N(T('teachers', 0)) } },
  { type: 'BallotCast', data: { group: 'parents', ratings: { principal: 'competent', secretary: 'competent' }, nullifier: N(T('parents', 0)) } },
];
const tally = computeTally(open.data, ballots.map((b) => (b as any).data));
const history = recordedEvaluation([open, ...ballots, { type: 'EvaluationClosed', data: { tally, tallyHash: tallyHash(tally) } }]);

describe('folding an evaluation', () => {
  it('knows every issued token hash by group, and spends a token’s nullifier once its ballot is cast', () => {
    const s = replay(history.slice(0, 2))!;
    expect(s.tokenGroup.size).toBe(5);
    expect(s.spent).toEqual(new Set([N(T('teachers', 0))]));
    expect(castByGroup(s)).toEqual({ teachers: 1, parents: 0 });
    expect(s.status).toBe('open');
  });

  it('leaves the state unchanged when an event is delivered twice', () => {
    const once = replay(history)!;
    const twice = replay(history.flatMap((e) => [e, e]))!;
    expect(evaluationView(twice)).toEqual(evaluationView(once));
    expect(twice.spent).toEqual(once.spent);
  });

  it('keeps the published tally and the closing time once closed', () => {
    const s = replay(history)!;
    expect(s.status).toBe('closed');
    expect(s.tally).toEqual(tally);
    expect(evaluationView(s)).toMatchObject({ status: 'closed', issued: 5, cast: 2, turnout: 0.4, tally, closedAt: '2005-05-10T02:00:00.000Z', ballotUrl: '/ballot?e=ev-1' });
  });

  it('ignores events before the opening', () => {
    expect(evolve(null, history[1])).toBeNull();
  });
});
