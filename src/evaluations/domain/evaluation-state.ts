import type { Actor } from '../../common/domain/domain-error';
import type { EvaluationOpened, EvaluationSetup, RecordedEvaluationEvent } from './evaluation-events';
import { addBallot, newTally, Tally, TallyAccumulator } from './tally';

export interface EvaluationState extends EvaluationSetup {
  id: string;
  campaignId: string;
  stage: string;
  evaluation: string;
  title: string;
  subjectKind: 'leaders' | 'units';
  unit?: string;
  status: 'open' | 'closed' | 'cancelled';
  openedAt: string;
  openedBy: Actor;
  closedAt?: string;
  closedBy?: Actor;
  cancelReason?: string;
  nullifierKey: string;
  /** Token hash → its voter group. */
  tokenGroup: Map<string, string>;
  /** Nullifiers of the ballots cast: a token's is here once it is spent. */
  spent: Set<string>;
  /** Running counts of the ballots cast (the same fold the audit recount uses). */
  counts: TallyAccumulator;
  /** The published tally, once closed. */
  tally?: Tally;
  tallyHash?: string;
  revision: number;
  lastHash: string;
}

function open(event: RecordedEvaluationEvent & EvaluationOpened): EvaluationState {
  const d = event.data;
  const tokenGroup = new Map<string, string>();
  for (const [group, hashes] of Object.entries(d.tokenHashes)) for (const h of hashes) tokenGroup.set(h, group);
  const setup: EvaluationSetup = { subjects: d.subjects, scale: d.scale, groups: d.groups };
  return {
    id: d.evaluationId,
    campaignId: d.campaignId,
    stage: d.stage,
    evaluation: d.evaluation,
    title: d.title,
    subjectKind: d.subjectKind,
    ...(d.unit !== undefined ? { unit: d.unit } : {}),
    ...setup,
    status: 'open',
    openedAt: event.metadata.occurredAt,
    openedBy: event.metadata.actor as Actor,
    nullifierKey: d.nullifierKey,
    tokenGroup,
    spent: new Set(),
    counts: newTally(setup),
    revision: event.revision,
    lastHash: event.metadata.hash,
  };
}

/**
 * Folds one event into the state, in place (a replay of 50,000 ballots must not copy
 * anything per ballot). Events at or below the state's revision are ignored, so
 * delivering one twice is harmless.
 */
export function evolve(state: EvaluationState | null, event: RecordedEvaluationEvent): EvaluationState | null {
  if (state && event.revision <= state.revision) return state;
  if (event.type === 'EvaluationOpened') return state ?? open(event);
  if (!state) return null;
  switch (event.type) {
    case 'BallotCast':
      state.spent.add(event.data.nullifier);
      addBallot(state.counts, event.data);
      break;
    case 'EvaluationClosed':
      state.status = 'closed';
      state.closedAt = event.metadata.occurredAt;
      state.closedBy = event.metadata.actor as Actor;
      state.tally = event.data.tally;
      state.tallyHash = event.data.tallyHash;
      break;
    case 'EvaluationCancelled':
      state.status = 'cancelled';
      state.closedAt = event.metadata.occurredAt;
      state.cancelReason = event.data.reason;
      break;
  }
  state.revision = event.revision;
  state.lastHash = event.metadata.hash;
  return state;
}

export function replay(events: Iterable<RecordedEvaluationEvent>, state: EvaluationState | null = null): EvaluationState | null {
  for (const e of events) state = evolve(state, e);
  return state;
}

/** Ballots cast per group so far. */
export function castByGroup(state: EvaluationState): Record<string, number> {
  return Object.fromEntries(state.groups.map((g, i) => [g.id, state.counts.cast[i]]));
}
