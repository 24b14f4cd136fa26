import { Inject, Injectable } from '@nestjs/common';
import { appendChained } from '../event-store/chained-append';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import type { EvaluationEvent, RecordedEvaluationEvent } from './domain/evaluation-events';
import { evaluationStream } from './domain/evaluation-events';
import { EvaluationState, evolve } from './domain/evaluation-state';

/** Most evaluation states kept in memory (each holds its token hashes and nullifiers). */
const CACHED_EVALUATIONS = 32;

/**
 * Loads evaluations by folding their streams (once; afterwards only the events appended
 * since are read) and appends with the expected revision and the hash chain.
 */
@Injectable()
export class EvaluationRepository {
  private readonly cache = new Map<string, EvaluationState>();

  constructor(@Inject(EVENT_STORE) readonly store: EventStore) {}

  async load(evaluationId: string): Promise<EvaluationState | null> {
    const cached = this.cache.get(evaluationId) ?? null;
    const events = await this.store.readStream(evaluationStream(evaluationId), { fromRevision: cached ? cached.revision + 1 : 0 });
    let state = cached;
    for (const e of events) state = evolve(state, e as unknown as RecordedEvaluationEvent);
    if (state) this.remember(evaluationId, state);
    return state;
  }

  private remember(id: string, state: EvaluationState): void {
    this.cache.delete(id);
    this.cache.set(id, state);
    if (this.cache.size > CACHED_EVALUATIONS) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  /** Appends after `state` (null: a new stream), every event with the same metadata; ConcurrencyError when another instance got there first. */
  async append(evaluationId: string, state: EvaluationState | null, events: EvaluationEvent[], metadata: Record<string, unknown>): Promise<RecordedEvaluationEvent[]> {
    const head = state ? { revision: state.revision, hash: state.lastHash } : null;
    const { events: chained } = await appendChained(
      this.store,
      evaluationStream(evaluationId),
      head,
      events.map((e) => ({ type: e.type, data: e.data, metadata })),
    );
    const recorded = chained as unknown as RecordedEvaluationEvent[];
    let next = state;
    for (const r of recorded) next = evolve(next, r);
    if (next) this.remember(evaluationId, next);
    return recorded;
  }

  /** The stream as stored (never the cache): what an auditor recounts. */
  async events(evaluationId: string): Promise<RecordedEvaluationEvent[]> {
    const events = await this.store.readStream(evaluationStream(evaluationId));
    return events as unknown as RecordedEvaluationEvent[];
  }
}
