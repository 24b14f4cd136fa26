import { DomainError } from '../../src/common/domain/domain-error';
import { BallotCommand, decide, decideBallots, EvaluationCommand } from '../../src/evaluations/domain/decide';
import type { EvaluationEvent, EvaluationOpened, RecordedEvaluationEvent } from '../../src/evaluations/domain/evaluation-events';
import { EvaluationState, replay } from '../../src/evaluations/domain/evaluation-state';
import { hashToken } from '../../src/evaluations/domain/tokens';
import { BUREAU } from '../support/campaign-spec';

/** Recorded envelopes for plain evaluation events: what the log would hold (ballots as the service stores them). */
export function recordedEvaluation(events: EvaluationEvent[], at = '2005-05-10T02:00:00.000Z'): RecordedEvaluationEvent[] {
  return events.map((e, i) => ({
    ...e,
    id: `e${i}`,
    revision: i,
    metadata:
      e.type === 'BallotCast'
        ? { actor: { sub: 'anonymous', role: 'voter' }, occurredAt: `${at.slice(0, 10)}T00:00:00.000Z`, prevHash: String(i - 1), hash: String(i) }
        : { actor: BUREAU, occurredAt: at, correlationId: 'c', prevHash: String(i - 1), hash: String(i) },
  })) as RecordedEvaluationEvent[];
}

/** Tokens in canonical form for a small evaluation: `T(group, n)`. */
export const T = (group: string, n: number) => `${group.slice(0, 1).toUpperCase()}${String(n).padStart(31, '0')}`.replace(/[ILOU]/g, 'X');
/** The nullifier a test uses for a token: any function of it will do in the domain. */
export const N = (token: string) => `n:${token}`;

export function opened(groups: { id: string; ballots: number; weight?: number }[], subjects = ['principal', 'secretary']): EvaluationOpened {
  return {
    type: 'EvaluationOpened',
    data: {
      evaluationId: 'ev-1',
      campaignId: 'c1',
      stage: 'supervision',
      evaluation: 'appraisal',
      title: '民主测评',
      subjectKind: 'leaders',
      subjects: subjects.map((id) => ({ id, name: id })),
      scale: [
        { id: 'excellent', title: { zh: '优秀', en: 'Excellent' }, score: 100 },
        { id: 'competent', title: { zh: '称职', en: 'Competent' }, score: 80 },
        { id: 'basically-competent', title: { zh: '基本称职', en: 'Basically competent' }, score: 60 },
        { id: 'incompetent', title: { zh: '不称职', en: 'Incompetent' }, score: 0 },
      ],
      groups: groups.map((g) => ({ id: g.id, title: { zh: g.id, en: g.id }, weight: g.weight ?? 1, ballots: g.ballots })),
      tokenHashes: Object.fromEntries(groups.map((g) => [g.id, Array.from({ length: g.ballots }, (_, n) => hashToken(T(g.id, n))).sort()])),
      nullifierKey: 'k',
    },
  };
}

export const ballot = (token: string, ratings: Record<string, string>): BallotCommand => ({ tokenHash: hashToken(token), nullifier: N(token), ratings });

/**
 * Given/when/then for the evaluation decider (as test/support/campaign-spec.ts for campaigns):
 * given past events, when a command (or a batch of ballots) is decided, then these events — or this refusal.
 */
export function given(events: EvaluationEvent[]) {
  const state: EvaluationState | null = replay(recordedEvaluation(events));
  return {
    state,
    when(command: EvaluationCommand) {
      const run = () => decide(command, state);
      return {
        then(expected: EvaluationEvent[]) {
          expect(run()).toEqual(expected);
        },
        thenRefuses(code: string, details?: Record<string, unknown>) {
          let error: unknown;
          try {
            run();
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(DomainError);
          expect((error as DomainError).code).toBe(code);
          if (details) expect((error as DomainError).details).toMatchObject(details);
        },
      };
    },
    /** Each ballot's outcome: the event it becomes, or the code it is refused with. */
    cast(ballots: BallotCommand[]) {
      return decideBallots(state, ballots).map((d) => (d.error ? d.error.code : d.event));
    },
  };
}
