import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { EVENT_STORE, EventStore, RecordedEvent } from '../event-store/event-store.port';
import { appendChained } from '../event-store/chained-append';
import { sequentialEventId } from '../event-store/event-ids';
import { ReplaySnapshots } from '../audit/replay-snapshots';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import type { Actor } from '../common/domain/domain-error';
import { CampaignEvent, campaignStream, RecordedCampaignEvent } from './domain/campaign-events';
import { CampaignState, evolve, replay } from './domain/campaign-state';
import { restoreSnapshot, takeSnapshot } from './domain/campaign-snapshot';
import { CAMPAIGN_SNAPSHOTS, SnapshotStore } from './campaign-snapshots';
import { sharedCampaignParts } from './campaign-state-intern';
import { definitionWeight, eventWeight, stateWeight, unitListWeight } from './state-weight';
import { Metrics } from '../metrics/metrics';

/** A load that had to fold at least this many events from the log leaves a snapshot for the next one. */
export const SNAPSHOT_AFTER_EVENTS = 100;

export interface AppendContext {
  actor: Actor;
  now: Date;
  correlationId: string;
  idempotencyKey?: string;
  requestHash?: string;
}

export const asCampaignEvent = (e: RecordedEvent) => e as unknown as RecordedCampaignEvent;

const MiB = 1024 * 1024;

/** A cached state and its estimated own weight (stateWeight, kept current by eventWeight as events are folded in). */
interface CacheEntry {
  state: CampaignState;
  bytes: number;
}

/**
 * Loads campaigns by folding their streams and appends new events with the expected
 * revision and the hash chain. Keeps folded states in memory (LRU): a command decides on
 * the cached state and a query reads only the events appended since. A state that is not
 * cached starts from its persisted snapshot, if the log still holds the event it was taken
 * at, and folds only the events after it.
 *
 * The cache is bounded twice: at most DOCKET_CACHE_CAMPAIGNS states, and at most DOCKET_CACHE_MB
 * of estimated heap (src/campaigns/state-weight.ts): each state's own parts, plus each distinct
 * definition and units list the cached states share, counted once. Least recently used states
 * go first. A state that alone would exceed the byte budget is served but not kept (the others
 * stay): each of its loads folds from its snapshot and the log.
 */
@Injectable()
export class CampaignRepository {
  private readonly cache = new Map<string, CacheEntry>();
  /** The shared parts (definitions, units lists) the cached states hold: how many hold each, and its weight. */
  private readonly parts = new Map<object, { holders: number; bytes: number }>();
  /** Estimated heap of the cache: its states' own weights plus its distinct shared parts'. */
  private cachedBytes = 0;
  private readonly budget: number;
  private readonly snapshots = new ReplaySnapshots();
  private readonly logger = new Logger('CampaignRepository');
  private readonly writing = new Set<Promise<void>>();
  /** Global position of the last append this process made: read models wait for it (read your writes). */
  lastPosition = 0;

  constructor(
    @Inject(EVENT_STORE) readonly store: EventStore,
    @Inject(DOCKET_CONFIG) private readonly config: DocketConfig,
    @Optional() @Inject(CAMPAIGN_SNAPSHOTS) private readonly persisted?: SnapshotStore,
    @Optional() metrics?: Metrics,
  ) {
    this.budget = config.cacheMb * MiB;
    if (metrics) {
      const gauge = (name: string, help: string, value: (stats: { states: number; bytes: number }) => number) => {
        const stats = () => this.cacheStats();
        new Gauge({
          name,
          help,
          registers: [metrics.registry],
          collect() {
            this.set(value(stats()));
          },
        });
      };
      gauge('docket_campaign_cache_states', 'Campaign states cached in memory (bounded by DOCKET_CACHE_CAMPAIGNS and DOCKET_CACHE_MB)', (s) => s.states);
      gauge(
        'docket_campaign_cache_bytes',
        'Estimated heap bytes of the cached campaign states and the parts they share (bounded by DOCKET_CACHE_MB)',
        (s) => s.bytes,
      );
    }
  }

  /** The current state, caught up with the log (other instances may have appended). */
  async load(campaignId: string): Promise<CampaignState | null> {
    const cached = this.cache.get(campaignId)?.state ?? null;
    let state = cached ?? (await this.fromSnapshot(campaignId));
    const events = await this.store.readStream(campaignStream(campaignId), { fromRevision: state ? state.revision + 1 : 0 });
    // What the events add to a cached state's weight (a state not cached is weighed whole when it enters).
    let grown = 0;
    for (const e of events) {
      const event = asCampaignEvent(e);
      if (cached) grown += eventWeight(state, event);
      state = evolve(state, event);
    }
    if (!state) return null;
    if (!cached && events.length >= SNAPSHOT_AFTER_EVENTS) this.saveSnapshot(state);
    this.remember(campaignId, state, grown);
    return state;
  }

  /**
   * The persisted snapshot's state, if the log still holds the event it was taken at (same
   * revision, same hash: the chain ties it to the whole prefix); otherwise null, and the
   * campaign is folded from the start.
   */
  private async fromSnapshot(campaignId: string): Promise<CampaignState | null> {
    if (!this.persisted) return null;
    const snapshot = await this.persisted.get(campaignId).catch((e) => {
      this.logger.warn(`snapshot of ${campaignId} unreadable (${(e as Error).message}); folding the log`);
      return null;
    });
    if (!snapshot) return null;
    const [at] = await this.store.readStream(campaignStream(campaignId), { fromRevision: snapshot.revision, maxCount: 1 });
    if (!at || at.revision !== snapshot.revision || at.metadata.hash !== snapshot.lastHash) return null;
    return restoreSnapshot(snapshot);
  }

  /** Persists a snapshot after a long fold, off the caller's path; a failure only costs the next load a fold. */
  private saveSnapshot(state: CampaignState): void {
    if (!this.persisted) return;
    const snapshot = takeSnapshot(state); // now: the state is updated in place later
    const write = this.persisted
      .put(snapshot)
      .catch((e) => this.logger.warn(`could not save the snapshot of ${state.id}: ${(e as Error).message}`))
      .finally(() => this.writing.delete(write));
    this.writing.add(write);
  }

  /** Resolves once the snapshots being written are written (or have failed). */
  async snapshotsWritten(): Promise<void> {
    await Promise.all([...this.writing]);
  }

  /**
   * For a command: the cached state without reading the log, or a caught-up load on a miss.
   * A cached state may be behind another instance's appends; the append's expected revision
   * catches that (ConcurrencyError), and the executor re-checks any refusal against a caught-up
   * load before answering, so a stale cache never decides anything on its own. `fresh` says
   * whether the state was just caught up with the log.
   */
  async loadForCommand(campaignId: string): Promise<{ state: CampaignState | null; fresh: boolean }> {
    const cached = this.cache.get(campaignId);
    if (cached) {
      // Most recently used now, even if the command is refused and appends nothing.
      this.cache.delete(campaignId);
      this.cache.set(campaignId, cached);
      return { state: cached.state, fresh: false };
    }
    return { state: await this.load(campaignId), fresh: true };
  }

  /** How many states the cache holds and their estimated heap bytes, shared parts included (metrics, tests). */
  cacheStats(): { states: number; bytes: number } {
    return { states: this.cache.size, bytes: this.cachedBytes };
  }

  /**
   * Caches `state` as the most recently used, then drops the least recently used states while
   * either bound is exceeded. `grown`: what the events folded into it since it was cached weigh
   * (eventWeight); a state the cache does not hold as this very object is weighed whole.
   */
  private remember(id: string, state: CampaignState, grown = 0): void {
    // Campaigns with the same definition or units hold one shared copy (docs/operations.md, "Memory").
    sharedCampaignParts.intern(state);
    const old = this.cache.get(id);
    const entry: CacheEntry = { state, bytes: old?.state === state ? old.bytes + grown : stateWeight(state) };
    // The new entry's parts are held before the old entry's are released: parts they share are not weighed again.
    const alone = entry.bytes + this.hold(state.definition, definitionWeight) + this.hold(state.units, unitListWeight);
    if (old) this.drop(id, old);
    this.cache.set(id, entry);
    this.cachedBytes += entry.bytes;
    if (alone > this.budget) {
      this.drop(id, entry);
      return;
    }
    while (this.cache.size > this.config.cacheCampaigns || this.cachedBytes > this.budget) {
      const [oldestId, oldest] = this.cache.entries().next().value!;
      this.drop(oldestId, oldest);
    }
  }

  /** Counts one more holder of a shared part (weighing it when it is new to the cache); its weight. */
  private hold<T extends object>(part: T, weigh: (part: T) => number): number {
    const held = this.parts.get(part);
    if (held) {
      held.holders += 1;
      return held.bytes;
    }
    const bytes = weigh(part);
    this.parts.set(part, { holders: 1, bytes });
    this.cachedBytes += bytes;
    return bytes;
  }

  private release(part: object): void {
    const held = this.parts.get(part);
    if (!held || --held.holders > 0) return;
    this.parts.delete(part);
    this.cachedBytes -= held.bytes;
  }

  private drop(id: string, entry: CacheEntry): void {
    this.cache.delete(id);
    this.cachedBytes -= entry.bytes;
    this.release(entry.state.definition);
    this.release(entry.state.units);
  }

  /** Appends decided events after `state` (null: a new stream); ConcurrencyError when someone else got there first. */
  async append(campaignId: string, state: CampaignState | null, events: CampaignEvent[], ctx: AppendContext): Promise<RecordedCampaignEvent[]> {
    const occurredAt = ctx.now.toISOString();
    const metadata: Record<string, unknown> = { actor: ctx.actor, occurredAt, correlationId: ctx.correlationId };
    if (ctx.idempotencyKey) {
      metadata.idempotencyKey = ctx.idempotencyKey;
      metadata.requestHash = ctx.requestHash;
    }
    const head = state ? { revision: state.revision, hash: state.lastHash } : null;
    const chained = await appendChained(
      this.store,
      campaignStream(campaignId),
      head,
      // Ids in the order they are made: they land together at the end of the log's id index (event-ids.ts).
      events.map((e) => ({ id: sequentialEventId(), type: e.type, data: e.data, metadata })),
    );
    if (chained.position > this.lastPosition) this.lastPosition = chained.position;
    const recorded = chained.events as unknown as RecordedCampaignEvent[];
    let next = state;
    let grown = 0;
    for (const r of recorded) {
      grown += eventWeight(next, r);
      next = evolve(next, r);
    }
    if (next) this.remember(campaignId, next, grown);
    return recorded;
  }

  /** Drops a cached state (after a failed append, so the next load re-reads). */
  forget(campaignId: string): void {
    const entry = this.cache.get(campaignId);
    if (entry) this.drop(campaignId, entry);
  }

  async events(campaignId: string, fromRevision = 0, maxCount?: number): Promise<RecordedCampaignEvent[]> {
    const events = await this.store.readStream(campaignStream(campaignId), { fromRevision, maxCount });
    return events.map(asCampaignEvent);
  }

  /**
   * The campaign as it was: folded from the log (never from the cache) up to a revision,
   * or up to an instant (events that occurred at or before it).
   */
  async replayTo(campaignId: string, until: { revision?: number; at?: Date }): Promise<{ state: CampaignState | null; last?: RecordedCampaignEvent }> {
    if (until.revision !== undefined && until.at === undefined) {
      // Snapshots along the history: an auditor walking every revision folds each event about once.
      return this.snapshots.replayTo(campaignId, until.revision, (from, max) => this.events(campaignId, from, max));
    }
    const maxCount = until.revision !== undefined ? until.revision + 1 : undefined;
    const events = await this.events(campaignId, 0, maxCount);
    const atMs = until.at?.getTime();
    // A prefix of the history: the log's order is the truth, even if a clock ever stepped back.
    let n = events.length;
    if (atMs !== undefined) {
      n = events.findIndex((e) => Date.parse(e.metadata.occurredAt) > atMs);
      if (n === -1) n = events.length;
    }
    const upto = events.slice(0, n);
    return { state: replay(upto), last: upto[upto.length - 1] };
  }

  async campaignIds(): Promise<string[]> {
    const streams = await this.store.listStreams('campaign-');
    return streams.map((s) => s.streamId.slice('campaign-'.length));
  }
}
