import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Subscription as RxSubscription } from 'rxjs';
import { CLOCK, Clock } from '../common/clock';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { Projector, READ_MODEL_DB } from '../projections/projector';
import type { SqlDb } from '../projections/sql-db';
import { MAILER, Mailer, PermanentMailError } from '../notifications/mailer';
import { reminderText } from '../notifications/reminder-message';
import { backoffDelay, DELIVERABLE_EVENT_TYPES, SealedSecret, signature } from './domain/webhooks';
import { LEADING_GROUP, OutboxEvent, OutboxRow } from './delivery-outbox';
import { WebhookSecrets } from './webhook-secrets';

export interface DispatchResult {
  attempted: number;
  delivered: number;
  /** Failed attempts that will be retried. */
  retrying: number;
  /** Given up after DOCKET_WEBHOOK_MAX_ATTEMPTS, or refused permanently. */
  failed: number;
  /** E-mails with no SMTP server or no address to go to; deliveries to a removed webhook. */
  skipped: number;
}

interface Outcome {
  ok: boolean;
  status?: number;
  error?: string;
  permanent?: boolean;
  /** Not sent, and never will be: the reason (no SMTP, no address, webhook removed). */
  skipped?: string;
  cancelled?: boolean;
}

type DueRow = OutboxRow & { url: string | null; secret: string | null; removed_at: string | null };

const PAGE = 100;

/** A pass's page of due deliveries (now, now, PAGE), in the order of the delivery_outbox_due_order index. */
export const DUE_PAGE_SQL = `SELECT o.*, w.url, w.secret, w.removed_at FROM delivery_outbox o LEFT JOIN rm_webhooks w ON o.channel = 'webhook' AND w.id = o.target
       WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND (o.claimed_until IS NULL OR o.claimed_until < ?)
       ORDER BY o.next_attempt_at, o.event_position, o.delivery_id LIMIT ?`;
const PARALLEL = 8;
const USER_AGENT = 'Docket-Webhooks/1';

/**
 * Sends what the outbox holds: every DOCKET_WEBHOOK_INTERVAL_MS (and soon after a reminder
 * is projected) it takes the due pending rows, claims each one atomically (so two instances
 * never send a delivery at the same time), sends it, and records the outcome: delivered, or
 * a retry at now + backoff, or failed after DOCKET_WEBHOOK_MAX_ATTEMPTS. A crash between
 * sending and recording means one more attempt with the same delivery id: at-least-once.
 */
@Injectable()
export class DeliveryDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Deliveries');
  private readonly secrets: WebhookSecrets;
  private timer?: NodeJS.Timeout;
  private changes?: RxSubscription;
  private running?: Promise<DispatchResult>;
  private again = false;
  private closed = false;

  constructor(
    @Inject(READ_MODEL_DB) private readonly db: SqlDb,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(DOCKET_CONFIG) private readonly config: DocketConfig,
    @Inject(MAILER) private readonly mailer: Mailer,
    private readonly projector: Projector,
  ) {
    this.secrets = new WebhookSecrets(config.delivery.secretKey ?? config.jwtSecret);
  }

  onApplicationBootstrap(): void {
    const every = this.config.delivery.intervalMs;
    if (every <= 0) return;
    this.timer = setInterval(() => this.kick(), every);
    this.timer.unref();
    // A reminder just projected is sent now rather than at the next tick.
    this.changes = this.projector.changes.subscribe((c) => {
      if ((DELIVERABLE_EVENT_TYPES as readonly string[]).includes(c.type)) setImmediate(() => this.kick());
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.changes?.unsubscribe();
    await this.running?.catch(() => undefined);
    await this.mailer.close();
  }

  private kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.dispatchOnce()
      .then(() => {
        if (this.again && !this.closed) {
          this.again = false;
          this.kick();
        }
      })
      .catch((e) => {
        if (!this.closed) this.logger.warn(`dispatching deliveries failed: ${(e as Error).message}`);
      });
  }

  /** One pass at the clock's `now` over up to 100 due deliveries; concurrent calls share the pass in progress. */
  dispatchOnce(): Promise<DispatchResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<DispatchResult> {
    await this.projector.ready();
    const result: DispatchResult = { attempted: 0, delivered: 0, retrying: 0, failed: 0, skipped: 0 };
    const now = this.clock.now();
    const nowIso = now.toISOString();
    const due = await this.db.all<DueRow>(DUE_PAGE_SQL, [nowIso, nowIso, PAGE]);
    const queue = [...due];
    const worker = async () => {
      for (let row = queue.shift(); row && !this.closed; row = queue.shift()) {
        if (!(await this.claim(row, now))) continue;
        const outcome = await this.attempt(row, now).catch((e): Outcome => ({ ok: false, error: (e as Error).message }));
        await this.record(row, now, outcome, result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
    return result;
  }

  /** Takes the row for one attempt; false when another instance holds it or it is no longer pending. */
  private async claim(row: DueRow, now: Date): Promise<boolean> {
    const nowIso = now.toISOString();
    const until = new Date(now.getTime() + this.config.delivery.timeoutMs + 60_000).toISOString();
    const won = await this.db.all<{ delivery_id: string }>(
      `UPDATE delivery_outbox SET claimed_until = ? WHERE delivery_id = ? AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < ?) RETURNING delivery_id`,
      [until, row.delivery_id, nowIso],
    );
    return won.length === 1;
  }

  private async attempt(row: DueRow, now: Date): Promise<Outcome> {
    // A mail that cannot be sent is skipped before anything is rendered or stored.
    const skipped = row.channel === 'webhook' ? undefined : this.mailSkip(row);
    if (skipped) return { ok: false, skipped };
    const event: OutboxEvent = JSON.parse(row.event);
    // The body is fixed at the first attempt, so every retry carries the very same payload.
    let body = row.body;
    if (!body) {
      body = this.render(row, event);
      await this.db.run('UPDATE delivery_outbox SET body = ? WHERE delivery_id = ? AND body IS NULL', [body, row.delivery_id]);
      const [stored] = await this.db.all<{ body: string }>('SELECT body FROM delivery_outbox WHERE delivery_id = ?', [row.delivery_id]);
      body = stored?.body ?? body;
    }
    return row.channel === 'webhook' ? this.post(row, body, now) : this.mail(row, event, body);
  }

  private render(row: DueRow, e: OutboxEvent): string {
    const d = e.data;
    const text = reminderText({ unit: d.unit, level: d.level, deadline: d.deadline, deliverables: d.deliverables }, e.titles, this.config.timezone);
    return JSON.stringify({
      deliveryId: row.delivery_id,
      event: {
        id: e.id,
        type: e.type,
        campaign: d.campaignId,
        campaignTitle: e.campaignTitle,
        stage: d.stage,
        stageTitle: e.titles.stage,
        unit: d.unit,
        level: d.level,
        occurrence: d.occurrence,
        dueAt: d.dueAt,
        issuedAt: e.occurredAt,
        deadline: d.deadline,
        deadlineLocal: text.deadlineLocal,
        late: d.late,
        deliverables: text.deliverables,
        message: text.message,
      },
    });
  }

  private async post(row: DueRow, body: string, now: Date): Promise<Outcome> {
    if (!row.url || !row.secret || row.removed_at) return { ok: false, skipped: 'webhook removed', cancelled: true };
    let secret: string;
    try {
      secret = this.secrets.open(row.target, JSON.parse(row.secret) as SealedSecret);
    } catch (e) {
      this.logger.error(`webhook ${row.target}: ${(e as Error).message}`);
      return { ok: false, error: (e as Error).message };
    }
    const timestamp = String(Math.floor(now.getTime() / 1000));
    try {
      const res = await fetch(row.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': USER_AGENT,
          'X-Docket-Delivery': row.delivery_id,
          'X-Docket-Event': row.event_type,
          'X-Docket-Webhook': row.target,
          'X-Docket-Attempt': String(Number(row.attempts) + 1),
          'X-Docket-Timestamp': timestamp,
          'X-Docket-Signature': signature(secret, timestamp, body),
        },
        body,
        // A redirect is an answer, not a delivery: following it would send the payload somewhere the bureau did not register.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.delivery.timeoutMs),
      });
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? { ok: true, status: res.status } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const reason = err.name === 'TimeoutError' ? `no answer within ${this.config.delivery.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
      return { ok: false, error: String(reason) };
    }
  }

  private recipients(row: DueRow): string[] {
    const { unitEmails, leadingGroupEmails } = this.config.delivery;
    return row.target === LEADING_GROUP ? leadingGroupEmails : (unitEmails[row.unit_id] ?? []);
  }

  /** Why a mail row cannot be sent (no SMTP, no address), or undefined. */
  private mailSkip(row: DueRow): string | undefined {
    if (!this.mailer.configured) return 'e-mail is not configured (DOCKET_SMTP_URL)';
    if (this.recipients(row).length === 0) {
      return row.target === LEADING_GROUP ? 'no leading-group address (DOCKET_LEADING_GROUP_EMAIL)' : `no e-mail address for unit ${row.unit_id} (DOCKET_UNIT_EMAILS)`;
    }
    return undefined;
  }

  private async mail(row: DueRow, e: OutboxEvent, body: string): Promise<Outcome> {
    const skipped = this.mailSkip(row);
    if (skipped) return { ok: false, skipped };
    const to = this.recipients(row);
    const payload = JSON.parse(body).event;
    const d = e.data;
    const escalation = e.type === 'ReminderEscalated';
    const subject = escalation
      ? `【逾期上报】${e.campaignTitle}：${d.unit} / Escalation: ${d.unit} is late`
      : `【催办】${e.campaignTitle}：${e.titles.stage.zh} / Reminder: ${e.titles.stage.en}`;
    const text = [
      payload.message.zh,
      '',
      `活动：${e.campaignTitle}`,
      `阶段：${e.titles.stage.zh}`,
      `单位：${d.unit}`,
      `截止时间：${payload.deadlineLocal}`,
      '',
      '—',
      '',
      payload.message.en,
      '',
      `Campaign: ${e.campaignTitle} (${d.campaignId})`,
      `Stage: ${e.titles.stage.en}`,
      `Unit: ${d.unit}`,
      `Deadline: ${payload.deadlineLocal}`,
      '',
      `Docket delivery ${row.delivery_id}`,
    ].join('\n');
    try {
      await this.mailer.send({
        to,
        subject,
        text,
        messageId: `<${row.delivery_id}@docket>`,
        headers: { 'X-Docket-Delivery': row.delivery_id, 'X-Docket-Event': e.type },
      });
      return { ok: true };
    } catch (err) {
      return { ok: false, permanent: err instanceof PermanentMailError, error: (err as Error).message };
    }
  }

  private async record(row: DueRow, now: Date, o: Outcome, result: DispatchResult): Promise<void> {
    const nowIso = now.toISOString();
    if (o.skipped) {
      result.skipped += 1;
      await this.db.run(`UPDATE delivery_outbox SET status = ?, last_error = ?, claimed_until = NULL WHERE delivery_id = ? AND status = 'pending'`, [
        o.cancelled ? 'cancelled' : 'skipped',
        o.skipped,
        row.delivery_id,
      ]);
      return;
    }
    result.attempted += 1;
    const attempts = Number(row.attempts) + 1;
    if (o.ok) {
      result.delivered += 1;
      await this.db.run(
        `UPDATE delivery_outbox SET status = 'delivered', attempts = ?, last_attempt_at = ?, last_status = ?, last_error = NULL, delivered_at = ?, claimed_until = NULL
         WHERE delivery_id = ? AND status = 'pending'`,
        [attempts, nowIso, o.status ?? null, nowIso, row.delivery_id],
      );
      return;
    }
    const { maxAttempts, backoffMs, backoffMaxMs } = this.config.delivery;
    const giveUp = o.permanent || attempts >= maxAttempts;
    const next = giveUp ? nowIso : new Date(now.getTime() + backoffDelay(attempts, backoffMs, backoffMaxMs, row.delivery_id)).toISOString();
    if (giveUp) result.failed += 1;
    else result.retrying += 1;
    if (giveUp) this.logger.warn(`delivery ${row.delivery_id} (${row.channel} ${row.target}) failed after ${attempts} attempt(s): ${o.error}`);
    await this.db.run(
      `UPDATE delivery_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_attempt_at = ?, last_status = ?, last_error = ?, claimed_until = NULL
       WHERE delivery_id = ? AND status = 'pending'`,
      [giveUp ? 'failed' : 'pending', attempts, next, nowIso, o.status ?? null, (o.error ?? 'failed').slice(0, 1000), row.delivery_id],
    );
  }
}
