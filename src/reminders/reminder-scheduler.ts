import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { randomUUID } from 'node:crypto';
import { CLOCK, Clock } from '../common/clock';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { ConcurrencyError, DuplicateEventError, EVENT_STORE, EventStore, StoreUnavailableError } from '../event-store/event-store.port';
import { appendChained, ChainHead } from '../event-store/chained-append';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { stageOf } from '../campaigns/domain/campaign-state';
import { deadlineOf, deliverableStatus, stageDeadline } from '../campaigns/domain/campaign-facts';
import { campaignStream } from '../campaigns/domain/campaign-events';
import type { ReminderPolicy } from '../workflows/domain/workflow-definition';
import { DefinitionCache } from '../projections/campaign-read-model';
import { Projector, READ_MODEL_DB } from '../projections/projector';
import type { SqlDb } from '../projections/sql-db';
import { decideReminders, escalationPoint, LateUnit, lateUnitsOf, latestReminderPoint, nextReminderAt, remindersStream } from './domain/reminders';

interface Candidate {
  id: string;
  revision: number | string;
  stage: string;
  deadline: string;
  definition_hash: string;
}

/** What deciding a campaign's reminders needs to know of it. */
interface CampaignFacts {
  status: string;
  stage: string;
  stageEnteredAt: string;
  deadline: string | undefined;
  policy: ReminderPolicy | undefined;
  lateUnits(): LateUnit[];
}

/** A campaign's summary row, with the number of cells of its stage, beside one late cell (if any). */
interface CampaignRows {
  revision: number | string;
  status: string;
  stage: string;
  stage_entered_at: string;
  deadlines: string;
  definition_hash: string;
  units: number | string;
  cells: number | string;
  unit_id: string | null;
  deliverable: string | null;
  cell: string | null;
}

/**
 * A campaign's row of the due index: the revision its schedule was decided at (every change of
 * stage, deadline or deliverable moves it) and its next due point.
 */
interface Timer {
  campaignId: string;
  revision: number;
  nextDueAt: string | null;
}

export interface ScanResult {
  candidates: number;
  issued: number;
  /** Campaigns whose due reminders were dropped, and why (stage moved on, campaign completed, nobody late). */
  ignored: { campaign: string; reason: string }[];
  /** Campaigns whose reminders could not be decided this time (set only when some could not); the next scan tries them again. */
  failed?: { campaign: string; error: string }[];
}

/**
 * Candidates visited at once. Their loads and decisions run in the same turn of the event
 * loop, so their appends (one per reminder stream) share one group commit of the store and
 * their due-index rows are written by one statement: after downtime, when every active
 * campaign is due, a scan costs a few dozen commits rather than several per campaign.
 */
const SLICE = 64;
/** Reminder streams whose head and issued ids are kept between scans (least recently used dropped first). */
const KEPT_STREAMS = 2_000;

const SCHEDULER = { sub: 'reminder-scheduler', role: 'system' as const };

/**
 * Scans the due index every DOCKET_REMINDER_INTERVAL_MS and appends the reminders that
 * fell due to each campaign's reminder stream. A due reminder is an ordinary command
 * decided against the campaign's current state: one that became moot (the unit
 * submitted, the stage moved on) is ignored with a reason, not issued. The state is read
 * from the read models when they hold the log's latest revision of the campaign, and
 * folded from its log otherwise, so a scan after downtime (every campaign due) neither
 * folds nor caches thousands of campaigns.
 */
@Injectable()
export class ReminderScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Reminders');
  private readonly defs = new DefinitionCache();
  private readonly streams = new Map<string, { head: ChainHead | null; issued: Set<string> }>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<ScanResult>;
  private closed = false;
  /** Global position of the last reminder this instance appended: the inbox waits for it (read your writes). */
  lastPosition = 0;

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
    // In launch order: the same scan visits (and appends) in the same order on every dialect.
    // A campaign that changed since its last visit is visited again, whatever its next due point:
    // a unit may be late now that was not then (a plan returned after the last reminder), and
    // the campaign must get what an instance deciding it afresh would give it.
    const candidates = await this.db.all<Candidate>(
      `SELECT c.id, c.revision, c.stage, c.deadline, c.definition_hash
       FROM rm_campaigns c LEFT JOIN rm_reminder_due t ON t.campaign_id = c.id
       WHERE c.status = 'active' AND c.deadline IS NOT NULL
         AND (t.campaign_id IS NULL OR t.revision <> c.revision OR (t.next_due_at IS NOT NULL AND t.next_due_at <= ?))
       ORDER BY c.launched_at, c.id`,
      [nowIso],
    );
    const result: ScanResult = { candidates: candidates.length, issued: 0, ignored: [] };
    for (let i = 0; i < candidates.length && !this.closed; i += SLICE) {
      const slice = candidates.slice(i, i + SLICE);
      const visits = await Promise.allSettled(slice.map((c) => this.visit(c, now)));
      const timers: Timer[] = [];
      let failure: { error: unknown } | undefined;
      // A slice where every visit failed has trouble that is not one campaign's (the store, the
      // read models): the scan stops, and the next one starts over. A campaign that fails alone
      // must not hold up the ones after it, scan after scan: it is logged and passed over.
      const alone = visits.some((v) => v.status === 'fulfilled') && !visits.some((v) => v.status === 'rejected' && v.reason instanceof StoreUnavailableError);
      for (const [j, v] of visits.entries()) {
        if (v.status === 'rejected') {
          if (!alone) {
            failure ??= { error: v.reason };
            continue;
          }
          const error = v.reason instanceof Error ? v.reason.message : String(v.reason);
          this.logger.error(`the reminders of campaign ${slice[j].id} could not be decided: ${error}`);
          (result.failed ??= []).push({ campaign: slice[j].id, error });
          continue;
        }
        timers.push(v.value.timer);
        if (typeof v.value.outcome === 'number') result.issued += v.value.outcome;
        else if (v.value.outcome !== undefined) result.ignored.push({ campaign: v.value.timer.campaignId, reason: v.value.outcome });
      }
      // A campaign that failed keeps its old row, so the next scan visits it again.
      await this.saveTimers(timers);
      // Keep pace with the projector: after downtime the inbox (which waits for lastPosition) and
      // the outbox stay within a slice of the scan, instead of a long way behind when it ends.
      await this.projector.waitFor(this.lastPosition);
      if (failure) {
        this.count(result);
        throw failure.error;
      }
    }
    this.count(result);
    return result;
  }

  private count(result: ScanResult): void {
    if (!result.issued) return;
    this.logger.log(`issued ${result.issued} reminders`);
    this.metrics?.remindersIssued.inc(result.issued);
  }

  /** One candidate: its due reminders (if a point of its schedule has passed) and its next due point. */
  private async visit(c: Candidate, now: Date): Promise<{ timer: Timer; outcome?: number | string }> {
    const def = await this.defs.get(this.db, c.definition_hash);
    const policy = stageOf(def, c.stage).reminders;
    const timer: Timer = { campaignId: c.id, revision: Number(c.revision), nextDueAt: null };
    if (!policy) return { timer };
    let outcome: number | string | undefined;
    if (latestReminderPoint(c.deadline, policy, now) || escalationPoint(c.deadline, policy, now)) outcome = await this.remind(c.id, now);
    timer.nextDueAt = nextReminderAt(c.deadline, policy, now);
    return { timer, outcome };
  }

  /** Writes the due-index rows of the campaigns just visited, in one statement. */
  private async saveTimers(timers: Timer[]): Promise<void> {
    if (timers.length === 0) return;
    await this.db.run(
      `INSERT INTO rm_reminder_due (campaign_id, revision, next_due_at) VALUES ${timers.map(() => '(?, ?, ?)').join(', ')}
       ON CONFLICT (campaign_id) DO UPDATE SET revision = excluded.revision, next_due_at = excluded.next_due_at`,
      timers.flatMap((t) => [t.campaignId, t.revision, t.nextDueAt]),
    );
  }

  /** Decides and appends the due reminders of one campaign; the number issued, or why none were. */
  private async remind(campaignId: string, now: Date): Promise<number | string> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const campaign = await this.campaign(campaignId);
      if (!campaign) return 'campaign not found';
      if (campaign.status !== 'active') return 'campaign completed';
      const { stage, deadline, policy } = campaign;
      if (!deadline || !policy) return `stage ${stage} has no deadline or reminder policy`;
      const lateUnits = campaign.lateUnits();
      if (lateUnits.length === 0) return 'every unit has submitted';
      const stream = await this.loadStream(campaignId);
      const events = decideReminders({
        campaignId,
        stage,
        stageEnteredAt: campaign.stageEnteredAt,
        deadline,
        policy,
        lateUnits,
        now,
        lateAfterMs: Math.max(2 * this.config.reminderIntervalMs, 5 * 60_000),
        issued: stream.issued,
      });
      if (events.length === 0) return 'already issued';
      try {
        const correlationId = randomUUID();
        const { events: written, position, repeated } = await appendChained(
          this.store,
          remindersStream(campaignId),
          stream.head,
          events.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: { actor: SCHEDULER, occurredAt: now.toISOString(), correlationId } })),
        );
        if (position > this.lastPosition) this.lastPosition = position;
        const last = written[written.length - 1];
        stream.head = { revision: last.revision, hash: last.metadata.hash };
        for (const e of events) stream.issued.add(e.id);
        // Another instance appended these very reminders first: they are its to count.
        return repeated ? 0 : events.length;
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

  /**
   * The campaign as the decision needs it, as of its last event. From the read models when they
   * hold exactly the log's revision of the campaign and a cell for every unit and deliverable of
   * its stage (one query, nothing folded or cached), else folded from the log: the read models
   * may lag behind another instance's writes.
   */
  private async campaign(campaignId: string): Promise<CampaignFacts | null> {
    // One statement, so the revision, the cell count and the late cells are one snapshot, even
    // while the projector is in the middle of a batch.
    const rows = await this.db.all<CampaignRows>(
      `SELECT c.revision, c.status, c.stage, c.stage_entered_at, c.deadlines, c.definition_hash, c.units, c.cells, d.unit_id, d.deliverable, d.status AS cell
       FROM (SELECT c.*, (SELECT COUNT(*) FROM rm_deliverables x WHERE x.campaign_id = c.id AND x.stage = c.stage) AS cells
             FROM rm_campaigns c WHERE c.id = ? LIMIT 1) c
       LEFT JOIN rm_deliverables d ON d.campaign_id = c.id AND d.stage = c.stage AND d.status IN ('missing', 'returned')
       LEFT JOIN rm_units u ON u.campaign_id = d.campaign_id AND u.unit_id = d.unit_id
       ORDER BY u.ord`,
      [campaignId],
    );
    const [c] = rows;
    if (c && Number(c.revision) === (await this.store.streamRevision(campaignStream(campaignId)))) {
      const def = await this.defs.get(this.db, c.definition_hash);
      const stage = stageOf(def, c.stage);
      const deliverables = stage.deliverables ?? [];
      if (Number(c.cells) === Number(c.units) * deliverables.length) {
        const late = new Map<string, string>();
        for (const r of rows) if (r.unit_id !== null) late.set(`${r.unit_id}\u0000${r.deliverable}`, r.cell!);
        const units = [...new Set(rows.flatMap((r) => (r.unit_id === null ? [] : [r.unit_id])))];
        return {
          status: c.status,
          stage: c.stage,
          stageEnteredAt: c.stage_entered_at,
          deadline: deadlineOf(def, JSON.parse(c.deadlines) as Record<string, string>, c.stage, c.stage_entered_at),
          policy: stage.reminders,
          // Every cell is there, so one that is not late has been submitted (or approved).
          lateUnits: () => lateUnitsOf(units, deliverables, (u, d) => late.get(`${u}\u0000${d}`) ?? 'submitted'),
        };
      }
    }
    const state = await this.repo.load(campaignId);
    if (!state) return null;
    const stage = stageOf(state.definition, state.stage);
    return {
      status: state.status,
      stage: state.stage,
      stageEnteredAt: state.stageEnteredAt,
      deadline: stageDeadline(state),
      policy: stage.reminders,
      lateUnits: () => lateUnitsOf(state.units.map((u) => u.id), stage.deliverables ?? [], (u, d) => deliverableStatus(state, u, d)),
    };
  }

  /** The reminder stream's head and the ids it holds, caught up with the log. */
  private async loadStream(campaignId: string) {
    let s = this.streams.get(campaignId);
    this.streams.delete(campaignId);
    s ??= { head: null, issued: new Set<string>() };
    this.streams.set(campaignId, s);
    if (this.streams.size > KEPT_STREAMS) this.streams.delete(this.streams.keys().next().value!);
    const events = await this.store.readStream(remindersStream(campaignId), { fromRevision: s.head ? s.head.revision + 1 : 0 });
    for (const e of events) {
      s.issued.add(e.id);
      s.head = { revision: e.revision, hash: e.metadata.hash };
    }
    return s;
  }
}
