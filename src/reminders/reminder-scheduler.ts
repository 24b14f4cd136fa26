import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { randomUUID } from 'node:crypto';
import { CLOCK, Clock } from '../common/clock';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { ConcurrencyError, DuplicateEventError, EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { appendChained, ChainHead } from '../event-store/chained-append';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { stageOf } from '../campaigns/domain/campaign-state';
import { deliverableStatus, stageDeadline } from '../campaigns/domain/campaign-facts';
import { DefinitionCache } from '../projections/campaign-read-model';
import { Projector, READ_MODEL_DB } from '../projections/projector';
import type { SqlDb } from '../projections/sql-db';
import { decideReminders, escalationPoint, LateUnit, latestReminderPoint, nextReminderAt, remindersStream } from './domain/reminders';

interface Candidate {
  id: string;
  stage: string;
  deadline: string;
  stage_entered_at: string;
  definition_hash: string;
}

export interface ScanResult {
  candidates: number;
  issued: number;
  /** Campaigns whose due reminders were dropped, and why (stage moved on, campaign completed, nobody late). */
  ignored: { campaign: string; reason: string }[];
}

const SCHEDULER = { sub: 'reminder-scheduler', role: 'system' as const };

/**
 * Scans the due index every DOCKET_REMINDER_INTERVAL_MS and appends the reminders that
 * fell due to each campaign's reminder stream. A due reminder is an ordinary command
 * decided against the campaign's current state: one that became moot (the unit
 * submitted, the stage moved on) is ignored with a reason, not issued.
 */
@Injectable()
export class ReminderScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Reminders');
  private readonly defs = new DefinitionCache();
  private readonly streams = new Map<string, { head: ChainHead | null; issued: Set<string> }>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<ScanResult>;
  private closed = false;

  constructor(
    @Inject(READ_MODEL_DB) private readonly db: SqlDb,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(DOCKET_CONFIG) private readonly config: DocketConfig,
    private readonly repo: CampaignRepository,
    private readonly projector: Projector,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.reminderIntervalMs;
    if (every > 0) {
      this.timer = setInterval(() => void this.scan().catch((e) => this.logger.warn(`reminder scan failed: ${(e as Error).message}`)), every);
      this.timer.unref();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One scan at the clock's `now`; concurrent calls share the scan in progress. */
  scan(): Promise<ScanResult> {
    this.running ??= this.scanOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async scanOnce(): Promise<ScanResult> {
    const now = this.clock.now();
    const nowIso = now.toISOString();
    await this.projector.ready();
    // Read our own writes: a submission this instance just took must be in the due index.
    await this.projector.waitFor(this.repo.lastPosition);
    const candidates = await this.db.all<Candidate>(
      `SELECT c.id, c.stage, c.deadline, c.stage_entered_at, c.definition_hash
       FROM rm_campaigns c LEFT JOIN rm_reminder_timers t ON t.campaign_id = c.id
       WHERE c.status = 'active' AND c.deadline IS NOT NULL
         AND (t.campaign_id IS NULL OR t.stage <> c.stage OR t.deadline <> c.deadline OR t.stage_entered_at <> c.stage_entered_at
              OR (t.next_due_at IS NOT NULL AND t.next_due_at <= ?))`,
      [nowIso],
    );
    const result: ScanResult = { candidates: candidates.length, issued: 0, ignored: [] };
    for (const c of candidates) {
      if (this.closed) break;
      const def = await this.defs.get(this.db, c.definition_hash);
      const policy = stageOf(def, c.stage).reminders;
      let next: string | null = null;
      if (policy) {
        if (latestReminderPoint(c.deadline, policy, now) || escalationPoint(c.deadline, policy, now)) {
          const outcome = await this.remind(c.id, now);
          if (typeof outcome === 'number') result.issued += outcome;
          else result.ignored.push({ campaign: c.id, reason: outcome });
        }
        next = nextReminderAt(c.deadline, policy, now);
      }
      await this.db.run(
        `INSERT INTO rm_reminder_timers (campaign_id, stage, stage_entered_at, deadline, next_due_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (campaign_id) DO UPDATE SET stage = excluded.stage, stage_entered_at = excluded.stage_entered_at, deadline = excluded.deadline, next_due_at = excluded.next_due_at`,
        [c.id, c.stage, c.stage_entered_at, c.deadline, next],
      );
    }
    if (result.issued) {
      this.logger.log(`issued ${result.issued} reminders`);
      this.metrics?.remindersIssued.inc(result.issued);
    }
    return result;
  }

  /** Decides and appends the due reminders of one campaign; the number issued, or why none were. */
  private async remind(campaignId: string, now: Date): Promise<number | string> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const state = await this.repo.load(campaignId);
      if (!state) return 'campaign not found';
      if (state.status !== 'active') return 'campaign completed';
      const deadline = stageDeadline(state);
      const stage = stageOf(state.definition, state.stage);
      if (!deadline || !stage.reminders) return `stage ${state.stage} has no deadline or reminder policy`;
      const lateUnits: LateUnit[] = [];
      for (const u of state.units) {
        const owed = (stage.deliverables ?? [])
          .map((d) => ({ id: d.id, status: deliverableStatus(state, u.id, d.id) }))
          .filter((d): d is { id: string; status: 'missing' | 'returned' } => d.status === 'missing' || d.status === 'returned');
        if (owed.length) lateUnits.push({ unit: u.id, deliverables: owed });
      }
      if (lateUnits.length === 0) return 'every unit has submitted';
      const stream = await this.loadStream(campaignId);
      const events = decideReminders({
        campaignId,
        stage: state.stage,
        stageEnteredAt: state.stageEnteredAt,
        deadline,
        policy: stage.reminders,
        lateUnits,
        now,
        lateAfterMs: Math.max(2 * this.config.reminderIntervalMs, 5 * 60_000),
        issued: stream.issued,
      });
      if (events.length === 0) return 'already issued';
      try {
        const correlationId = randomUUID();
        const { events: written } = await appendChained(
          this.store,
          remindersStream(campaignId),
          stream.head,
          events.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: { actor: SCHEDULER, occurredAt: now.toISOString(), correlationId } })),
        );
        const last = written[written.length - 1];
        stream.head = { revision: last.revision, hash: last.metadata.hash };
        for (const e of events) stream.issued.add(e.id);
        return events.length;
      } catch (e) {
        // Another instance issued some of them first: catch up and decide again.
        if (e instanceof ConcurrencyError || e instanceof DuplicateEventError) {
          this.streams.delete(campaignId);
          continue;
        }
        throw e;
      }
    }
    return 'gave up after repeated conflicts';
  }

  private async loadStream(campaignId: string) {
    let s = this.streams.get(campaignId);
    if (!s) {
      s = { head: null, issued: new Set() };
      this.streams.set(campaignId, s);
    }
    const events = await this.store.readStream(remindersStream(campaignId), { fromRevision: s.head ? s.head.revision + 1 : 0 });
    for (const e of events) {
      s.issued.add(e.id);
      s.head = { revision: e.revision, hash: e.metadata.hash };
    }
    return s;
  }
}
