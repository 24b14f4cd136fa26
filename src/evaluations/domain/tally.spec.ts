import { opened } from '../../../test/evaluations/evaluation-spec';
import { addBallot, BallotLike, computeTally, finishTally, newTally, tallyHash } from './tally';

const setup = opened(
  [
    { id: 'teachers', ballots: 4, weight: 3 },
    { id: 'parents', ballots: 6, weight: 1 },
  ],
  ['principal', 'secretary'],
).data;

const ballots: BallotLike[] = [
  { group: 'teachers', ratings: { principal: 'excellent', secretary: 'competent' } },
  { group: 'teachers', ratings: { principal: 'excellent', secretary: 'incompetent' } },
  { group: 'teachers', ratings: { principal: 'competent' } },
  { group: 'parents', ratings: { principal: 'basically-competent', secretary: 'excellent' } },
  { group: 'parents', ratings: { principal: 'incompetent', secretary: 'excellent' } },
];

describe('the tally', () => {
  const tally = computeTally(setup, ballots);

  it('counts ballots and turnout per group and in total', () => {
    expect(tally.grades).toEqual(['excellent', 'competent', 'basically-competent', 'incompetent']);
    expect([tally.issued, tally.cast, tally.turnout]).toEqual([10, 5, 0.5]);
    expect(tally.groups).toEqual([
      { id: 'teachers', weight: 3, issued: 4, cast: 3, turnout: 0.75 },
      { id: 'parents', weight: 1, issued: 6, cast: 2, turnout: 0.333333 },
    ]);
  });

  it('counts grades per subject, per group and in total, abstentions excluded', () => {
    const [principal, secretary] = tally.subjects;
    expect(principal.counts).toEqual({ excellent: 2, competent: 1, 'basically-competent': 1, incompetent: 1 });
    expect(principal.votes).toBe(5);
    expect(secretary.votes).toBe(4);
    expect(secretary.groups.map((g) => [g.id, g.votes, g.counts])).toEqual([
      ['teachers', 2, { excellent: 0, competent: 1, 'basically-competent': 0, incompetent: 1 }],
      ['parents', 2, { excellent: 2, competent: 0, 'basically-competent': 0, incompetent: 0 }],
    ]);
  });

  it('weights each group’s average score by the group’s weight', () => {
    const [principal, secretary] = tally.subjects;
    // teachers: (100 + 100 + 80) / 3 = 93.333…; parents: (60 + 0) / 2 = 30; weighted (3·93.333 + 1·30) / 4.
    expect(principal.groups.map((g) => g.score)).toEqual([93.333333, 30]);
    expect(principal.score).toBeCloseTo((3 * (280 / 3) + 30) / 4, 6);
    // teachers: (80 + 0) / 2 = 40; parents: 100.
    expect(secretary.score).toBe((3 * 40 + 100) / 4);
  });

  it('gives the customary shares rated excellent and incompetent', () => {
    const [principal] = tally.subjects;
    expect([principal.excellentShare, principal.incompetentShare]).toEqual([0.4, 0.2]);
    expect(principal.groups.map((g) => [g.excellentShare, g.incompetentShare])).toEqual([
      [0.666667, 0],
      [0, 0.5],
    ]);
  });

  it('leaves a group without votes out of the weighted score, and says null where nobody voted', () => {
    const onlyParents = computeTally(setup, [{ group: 'parents', ratings: { principal: 'competent' } }]);
    expect(onlyParents.subjects[0].score).toBe(80);
    expect(onlyParents.subjects[0].groups[0]).toMatchObject({ votes: 0, score: null, excellentShare: null, incompetentShare: null });
    expect(onlyParents.subjects[1]).toMatchObject({ votes: 0, score: null, excellentShare: null });
    expect(computeTally(setup, [])).toMatchObject({ cast: 0, turnout: 0 });
  });

  it('is the same folded one ballot at a time (the close) as computed over the list (the audit)', () => {
    const acc = newTally(setup);
    for (const b of ballots) addBallot(acc, b);
    expect(finishTally(acc)).toEqual(tally);
    expect(tallyHash(finishTally(acc))).toBe(tallyHash(tally));
  });

  it('does not depend on the order the ballots were stored in', () => {
    expect(computeTally(setup, [...ballots].reverse())).toEqual(tally);
  });

  it('does not count ratings outside the evaluation, nor ballots of a group it does not have', () => {
    const odd = computeTally(setup, [...ballots, { group: 'teachers', ratings: { principal: 'superb', nobody: 'excellent' } }, { group: 'visitors', ratings: { principal: 'excellent' } }]);
    expect(odd.subjects).toEqual(tally.subjects);
    expect(odd.cast).toBe(6);
  });
});
