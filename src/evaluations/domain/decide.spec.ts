import { ballot, given, N, opened, T } from '../../../test/evaluations/evaluation-spec';
import type { EvaluationDefinition } from '../../workflows/domain/workflow-definition';
import { DomainError } from '../../common/domain/domain-error';
import { resolveSetup } from './decide';
import type { EvaluationEvent } from './evaluation-events';
import { computeTally, tallyHash } from './tally';

const groups = [
  { id: 'teachers', ballots: 3, weight: 0.6 },
  { id: 'parents', ballots: 2, weight: 0.4 },
];
const open = opened(groups);
const cast = (token: string, group: string, ratings: Record<string, string>): EvaluationEvent => ({ type: 'BallotCast', data: { group, ratings, nullifier: N(token) } });

describe('opening an evaluation', () => {
  it('records the setup and one token hash per ballot', () => {
    given([]).when({ type: 'OpenEvaluation', data: open.data }).then([open]);
  });

  it('refuses an id that exists, and tokens that do not match the ballot counts', () => {
    given([open]).when({ type: 'OpenEvaluation', data: open.data }).thenRefuses('EVALUATION_EXISTS');
    const short = { ...open.data, tokenHashes: { ...open.data.tokenHashes, parents: open.data.tokenHashes.parents.slice(1) } };
    given([]).when({ type: 'OpenEvaluation', data: short }).thenRefuses('INVALID_EVALUATION', { group: 'parents' });
    const twice = { ...open.data, tokenHashes: { ...open.data.tokenHashes, parents: [open.data.tokenHashes.teachers[0], open.data.tokenHashes.parents[0]] } };
    given([]).when({ type: 'OpenEvaluation', data: twice }).thenRefuses('INVALID_EVALUATION');
  });
});

describe('casting ballots', () => {
  it('accepts a ballot of an issued token, recording its group, ratings and nullifier only', () => {
    expect(given([open]).cast([ballot(T('teachers', 0), { principal: 'excellent', secretary: 'competent' })])).toEqual([
      cast(T('teachers', 0), 'teachers', { principal: 'excellent', secretary: 'competent' }),
    ]);
  });

  it('accepts a ballot that abstains on a subject', () => {
    expect(given([open]).cast([ballot(T('parents', 1), { secretary: 'incompetent' })])).toEqual([cast(T('parents', 1), 'parents', { secretary: 'incompetent' })]);
  });

  it('refuses a token that was not issued, and a token already spent (before, or earlier in the same batch)', () => {
    const spent = [open, cast(T('teachers', 0), 'teachers', { principal: 'excellent' })];
    expect(
      given(spent).cast([
        ballot(T('teachers', 9), { principal: 'excellent' }),
        ballot(T('teachers', 0), { principal: 'competent' }),
        ballot(T('teachers', 1), { principal: 'competent' }),
        ballot(T('teachers', 1), { secretary: 'competent' }),
      ]),
    ).toEqual(['UNKNOWN_TOKEN', 'TOKEN_ALREADY_USED', cast(T('teachers', 1), 'teachers', { principal: 'competent' }), 'TOKEN_ALREADY_USED']);
  });

  it('refuses a grade outside the scale, a subject it does not rate and an empty ballot, without spending the token', () => {
    expect(
      given([open]).cast([
        ballot(T('teachers', 2), { principal: '优秀' }),
        ballot(T('teachers', 2), { principal: 'excellent', headmaster: 'excellent' }),
        ballot(T('teachers', 2), {}),
        ballot(T('teachers', 2), { principal: 'excellent' }),
      ]),
    ).toEqual(['INVALID_RATING', 'INVALID_RATING', 'INVALID_RATING', cast(T('teachers', 2), 'teachers', { principal: 'excellent' })]);
  });

  it('judges the evaluation before the token: after closing every ballot is refused as closed', () => {
    const tally = computeTally(open.data, []);
    const close: EvaluationEvent = { type: 'EvaluationClosed', data: { tally, tallyHash: tallyHash(tally) } };
    expect(given([open, close]).cast([ballot(T('teachers', 0), { principal: 'excellent' }), ballot('nonsense', {})])).toEqual(['EVALUATION_CLOSED', 'EVALUATION_CLOSED']);
    expect(given([]).cast([ballot(T('teachers', 0), { principal: 'excellent' })])).toEqual(['EVALUATION_NOT_FOUND']);
  });
});

describe('closing an evaluation', () => {
  const ballots = [
    cast(T('teachers', 0), 'teachers', { principal: 'excellent', secretary: 'competent' }),
    cast(T('teachers', 1), 'teachers', { principal: 'competent', secretary: 'competent' }),
    cast(T('parents', 0), 'parents', { principal: 'incompetent' }),
  ];

  it('publishes the tally of every ballot cast, with its hash', () => {
    const tally = computeTally(open.data, ballots.map((b) => (b as any).data));
    given([open, ...ballots]).when({ type: 'CloseEvaluation' }).then([{ type: 'EvaluationClosed', data: { tally, tallyHash: tallyHash(tally) } }]);
    expect(tally).toMatchObject({ issued: 5, cast: 3, turnout: 0.6 });
  });

  it('refuses to close twice, or what does not exist, or was cancelled', () => {
    const tally = computeTally(open.data, []);
    given([open, { type: 'EvaluationClosed', data: { tally, tallyHash: tallyHash(tally) } }]).when({ type: 'CloseEvaluation' }).thenRefuses('EVALUATION_CLOSED');
    given([]).when({ type: 'CloseEvaluation' }).thenRefuses('EVALUATION_NOT_FOUND');
    given([open, { type: 'EvaluationCancelled', data: { reason: 'x' } }]).when({ type: 'CloseEvaluation' }).thenRefuses('EVALUATION_CLOSED');
  });

  it('cancels an open evaluation the campaign refused to record', () => {
    given([open]).when({ type: 'CancelEvaluation', data: { reason: 'the campaign moved on' } }).then([{ type: 'EvaluationCancelled', data: { reason: 'the campaign moved on' } }]);
  });
});

describe('resolving the setup of an evaluation about to be opened', () => {
  const T2 = (s: string) => ({ zh: s, en: s });
  const leaders: EvaluationDefinition = {
    id: 'appraisal',
    title: T2('民主测评'),
    subjects: 'leaders',
    groups: [
      { id: 'teachers', title: T2('教师'), weight: 0.6, ballots: 100 },
      { id: 'parents', title: T2('家长'), weight: 0.4 },
    ],
  };
  const units = [
    { id: 'school-1', name: '一小' },
    { id: 'school-2', name: '二小' },
  ];
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return [(e as DomainError).code, (e as DomainError).message];
    }
    return undefined;
  };

  it('takes the workflow’s groups and weights, the default scale and the bureau’s ballot counts and names', () => {
    const setup = resolveSetup(leaders, { subjects: [{ id: 'wang', name: '王校长' }], groups: [{ id: 'teachers', ballots: 120 }, { id: 'parents', ballots: 400 }] }, units);
    expect(setup.subjects).toEqual([{ id: 'wang', name: '王校长' }]);
    expect(setup.groups).toEqual([
      { id: 'teachers', title: T2('教师'), weight: 0.6, ballots: 120 },
      { id: 'parents', title: T2('家长'), weight: 0.4, ballots: 400 },
    ]);
    expect(setup.scale.map((k) => [k.id, k.title.zh, k.score])).toEqual([
      ['excellent', '优秀', 100],
      ['competent', '称职', 80],
      ['basically-competent', '基本称职', 60],
      ['incompetent', '不称职', 0],
    ]);
  });

  it('rates the campaign’s units when the evaluation is of units and none are named', () => {
    const ofUnits = { ...leaders, subjects: 'units' as const, groups: [{ id: 'teachers', title: T2('教师'), weight: 1, ballots: 10 }] };
    expect(resolveSetup(ofUnits, {}, units).subjects).toEqual(units);
  });

  it('accepts a group the workflow does not define when the bureau gives its weight', () => {
    const setup = resolveSetup(leaders, { subjects: [{ id: 'wang', name: '王' }], groups: [{ id: 'retired-staff', title: '离退休教师', weight: 0.2, ballots: 15 }] }, units);
    expect(setup.groups).toEqual([{ id: 'retired-staff', title: T2('离退休教师'), weight: 0.2, ballots: 15 }]);
  });

  it('refuses leaders unnamed, a group without ballots or weight, subjects or groups twice, and too many ballots', () => {
    expect(refusal(() => resolveSetup(leaders, { groups: [{ id: 'teachers', ballots: 1 }] }, units))?.[0]).toBe('INVALID_EVALUATION');
    const named = { subjects: [{ id: 'wang', name: '王' }] };
    expect(refusal(() => resolveSetup(leaders, named, units))).toEqual(['INVALID_EVALUATION', 'give the number of ballots for voter group parents (groups: [{id: "parents", ballots: N}])']);
    expect(refusal(() => resolveSetup(leaders, { ...named, groups: [{ id: 'pupils', ballots: 3 }] }, units))?.[1]).toMatch(/give its weight/);
    expect(refusal(() => resolveSetup(leaders, { subjects: [named.subjects[0], named.subjects[0]], groups: [{ id: 'teachers' }] }, units))?.[1]).toMatch(/listed twice/);
    expect(refusal(() => resolveSetup(leaders, { ...named, groups: [{ id: 'teachers' }, { id: 'teachers' }] }, units))?.[1]).toMatch(/listed twice/);
    const huge = { ...named, groups: [0, 1, 2].map((i) => ({ id: `g${i}`, weight: 1, ballots: 100_000 })) };
    expect(refusal(() => resolveSetup(leaders, huge, units))?.[1]).toMatch(/at most 200000 ballots/);
  });
});
