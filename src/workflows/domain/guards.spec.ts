import { evaluateGuard, EvaluationFact, GuardFacts } from './guards';
import { nextStage } from './machine';
import type { WorkflowDefinition } from './workflow-definition';

const facts = (evaluations: EvaluationFact[]): GuardFacts => ({
  now: new Date('2005-06-01T00:00:00Z'),
  stageEnteredAt: '2005-05-01T00:00:00Z',
  unitIds: ['school-1'],
  statusOf: () => 'approved',
  evaluationsOf: (id) => (id === 'appraisal' ? evaluations : []),
});
const open = (id = 'ev-1'): EvaluationFact => ({ id, status: 'open', issued: 100, cast: null, groups: { teachers: { issued: 40, cast: null }, parents: { issued: 60, cast: null } } });
const closed = (cast: number, teachers: number, id = 'ev-1'): EvaluationFact => ({
  id,
  status: 'closed',
  issued: 100,
  cast,
  groups: { teachers: { issued: 40, cast: teachers }, parents: { issued: 60, cast: cast - teachers } },
});

describe('evaluationClosed', () => {
  const g = { evaluationClosed: { evaluation: 'appraisal' } };

  it('blocks until the evaluation has been opened', () => {
    expect(evaluateGuard(g, facts([]))).toEqual({ guard: 'evaluationClosed', evaluation: 'appraisal', open: [], reason: 'evaluation appraisal has not been opened' });
  });

  it('blocks while it is open, naming it', () => {
    expect(evaluateGuard(g, facts([open()]))).toEqual({ guard: 'evaluationClosed', evaluation: 'appraisal', open: ['ev-1'], reason: 'evaluation appraisal is still open' });
  });

  it('holds once every evaluation of it is closed, whatever the turnout', () => {
    expect(evaluateGuard(g, facts([closed(3, 1), closed(90, 40, 'ev-2')]))).toBeNull();
    expect(evaluateGuard(g, facts([closed(3, 1), open('ev-2')]))).toMatchObject({ open: ['ev-2'] });
  });
});

describe('minTurnout', () => {
  const g = (turnout: number, group?: string) => ({ minTurnout: { evaluation: 'appraisal', turnout, ...(group ? { group } : {}) } });

  it('judges the published turnout: open or unopened evaluations block with turnout null', () => {
    expect(evaluateGuard(g(0.8), facts([]))).toEqual({ guard: 'minTurnout', evaluation: 'appraisal', required: 0.8, turnout: null, evaluations: [], reason: 'evaluation appraisal has not been opened' });
    expect(evaluateGuard(g(0.8), facts([open()]))).toMatchObject({ turnout: null, evaluations: [{ id: 'ev-1', status: 'open', turnout: null }] });
  });

  it('holds at exactly the required share, and blocks below it naming the turnout', () => {
    expect(evaluateGuard(g(0.8), facts([closed(80, 30)]))).toBeNull();
    expect(evaluateGuard(g(0.8), facts([closed(79, 30)]))).toEqual({
      guard: 'minTurnout',
      evaluation: 'appraisal',
      required: 0.8,
      turnout: 0.79,
      evaluations: [{ id: 'ev-1', status: 'closed', turnout: 0.79 }],
      reason: 'turnout 0.79 is below the required 0.8',
    });
  });

  it('judges one voter group when it names one', () => {
    expect(evaluateGuard(g(0.8, 'teachers'), facts([closed(80, 32)]))).toBeNull();
    expect(evaluateGuard(g(0.8, 'teachers'), facts([closed(95, 31)]))).toMatchObject({ group: 'teachers', turnout: 0.775 });
    expect(evaluateGuard(g(0.8, 'delegates'), facts([closed(95, 31)]))).toMatchObject({ turnout: null, reason: 'evaluation appraisal has no voter group delegates' });
  });
});

describe('evaluation guards in the stage machine', () => {
  const T = (s: string) => ({ zh: s, en: s });
  const def: WorkflowDefinition = {
    id: 'appraise',
    version: 1,
    title: T('appraise'),
    initial: 'supervision',
    stages: [
      {
        id: 'supervision',
        title: T('supervision'),
        evaluations: [{ id: 'appraisal', title: T('民主测评'), subjects: 'leaders' }],
        transitions: [{ event: 'COMPLETE', target: 'done', guards: [{ evaluationClosed: { evaluation: 'appraisal' } }, { minTurnout: { evaluation: 'appraisal', turnout: 0.8 } }] }],
      },
      { id: 'done', title: T('done'), final: true },
    ],
  };

  it('takes the transition only when the evaluation is closed with enough turnout', () => {
    expect(nextStage(def, 'supervision', { type: 'COMPLETE', facts: facts([open()]) })).toBeNull();
    expect(nextStage(def, 'supervision', { type: 'COMPLETE', facts: facts([closed(70, 30)]) })).toBeNull();
    expect(nextStage(def, 'supervision', { type: 'COMPLETE', facts: facts([closed(85, 30)]) })).toEqual({ to: 'done', final: true });
  });
});
