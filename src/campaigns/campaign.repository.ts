import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { EVENT_STORE, EventStore, RecordedEvent } from '../event-store/event-store.port';
import { appendChained } from '../event-store/chained-append';
import { ReplaySnapshots } from '../audit/replay-snapshots';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import type { Actor } from '../common/domain/domain-error';
import { CampaignEvent, campaignStream, RecordedCampaignEvent } from './domain/campaign-events';
import { CampaignState, evolve, replay } from './domain/campaign-state';
import { restoreSnapshot, takeSnapshot } from './domain/campaign-snapshot';
import { CAMPAIGN_SNAPSHOTS, SnapshotStore } from './campaign-snapshots';
import { sharedCampaignParts } from './campaign-state-intern';

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

/**
 * Loads campaigns by folding their streams and appends new events with the expected
 * revision and the hash chain. Keeps folded states in memory (LRU): a command decides on
 * the cached state and a query reads only the events appended since. A state that is not
 * cached starts from its persisted snapshot, if the log still holds the event it was taken
 * at, and folds only the events after it.
 */
@Injectable()
export class CampaignRepository {
  private readonly cache = new Map<string, CampaignState>();
  private readonly snapshots = new ReplaySnapshots();
  private readonly logger = new Logger('CampaignRepository');
  private readonly writing = new Set<Promise<void>>();
  /** Global position of the last append this process made: read models wait for it (read your writes). */
  lastPosition = 0;

  constructor(
    @Inject(EVENT_STORE) readonly store: EventStore,
    @Inject(DOCKET_CONFIG) private readonly config: DocketConfig,
    @Optional() @Inject(CAMPAIGN_SNAPSHOTS) private readonly persisted?: SnapshotStore,
  ) {}

  /** The current state, caught up with the log (other instances may have appended). */
  async load(campaignId: string): Promise<CampaignState | null> {
    const cached = this.cache.get(campaignId) ?? null;
    let state = cached ?? (await this.fromSnapshot(campaignId));
    const events = await this.store.readStream(campaignStream(campaignId), { fromRevision: state ? state.revision + 1 : 0 });
    for (const e of events) state = evolve(state, asCampaignEvent(e));
    if (!state) return null;
    if (!cached && events.length >= SNAPSHOT_AFTER_EVENTS) this.saveSnapshot(state);
    this.remember(campaignId, state);
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
    if (cached) return { state: cached, fresh: false };
    return { state: await this.load(campaignId), fresh: true };
  }

  private remember(id: string, state: CampaignState): void {
    // Campaigns with the same definition or units hold one shared copy (docs/operations.md, "Memory").
    sharedCampaignParts.intern(state);
    this.cache.delete(id);
    this.cache.set(id, state);
    if (this.cache.size > this.config.cacheCampaigns) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
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
      events.map((e) => ({ type: e.type, data: e.data, metadata })),
    );
    if (chained.position > this.lastPosition) this.lastPosition = chained.position;
    const recorded = chained.events as unknown as RecordedCampaignEvent[];
    let next = state;
    for (const r of recorded) next = evolve(next, r);
    if (next) this.remember(campaignId, next);
    return recorded;
  }

  /** Drops a cached state (after a failed append, so the next load re-reads). */
  forget(campaignId: string): void {
    this.cache.delete(campaignId);
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
