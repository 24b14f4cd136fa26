import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CLOCK, Clock } from '../common/clock';
import { Actor, DomainError } from '../common/domain/domain-error';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { appendChained, ChainHead } from '../event-store/chained-append';
import { ConcurrencyError, EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { Projector, READ_MODEL_DB } from '../projections/projector';
import { lockReadModels } from '../projections/projection';
import type { SqlDb } from '../projections/sql-db';
import { activeWebhooks, decideRegister, decideRemove, evolveWebhooks, initialWebhooksState, Webhook, WebhookEvent, WEBHOOKS_STREAM, WebhooksState } from './domain/webhooks';
import type { OutboxRow } from './delivery-outbox';
import type { RegisterWebhookDto } from './webhook.dto';
import { WebhookSecrets } from './webhook-secrets';

/** A webhook as the API shows it: never its secret. */
export interface WebhookView {
  id: string;
  url: string;
  description?: string;
  events: string[] | null;
  createdAt: string;
  createdBy: string;
  removedAt?: string;
}

export const webhookView = (w: Webhook): WebhookView => ({
  id: w.id,
  url: w.url,
  ...(w.description !== undefined ? { description: w.description } : {}),
  events: w.events,
  createdAt: w.createdAt,
  createdBy: w.createdBy,
  ...(w.removedAt ? { removedAt: w.removedAt } : {}),
});

export const deliveryView = (r: OutboxRow) => ({
  deliveryId: r.delivery_id,
  channel: r.channel,
  target: r.target,
  event: { id: r.event_id, type: r.event_type, campaign: r.campaign_id, unit: r.unit_id },
  status: r.status,
  attempts: Number(r.attempts),
  nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
  lastAttemptAt: r.last_attempt_at,
  lastStatus: r.last_status === null ? null : Number(r.last_status),
  lastError: r.last_error,
  deliveredAt: r.delivered_at,
  createdAt: r.created_at,
  position: Number(r.event_position),
});

const MAX_RETRIES = 5;

/**
 * Registrations are commands on the `webhooks` stream: load (the stream is small), decide,
 * append with the expected revision and the hash chain; re-decided on a conflict.
 */
@Injectable()
export class WebhooksService {
  private readonly secrets: WebhookSecrets;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_MODEL_DB) private readonly db: SqlDb,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(DOCKET_CONFIG) config: DocketConfig,
    private readonly projector: Projector,
  ) {
    this.secrets = new WebhookSecrets(config.delivery.secretKey ?? config.jwtSecret);
  }

  async load(): Promise<{ state: WebhooksState; head: ChainHead | null }> {
    const events = await this.store.readStream(WEBHOOKS_STREAM);
    const state = events.reduce((s, e) => evolveWebhooks(s, e), initialWebhooksState());
    const last = events[events.length - 1];
    return { state, head: last ? { revision: last.revision, hash: last.metadata.hash } : null };
  }

  async list(): Promise<WebhookView[]> {
    return activeWebhooks((await this.load()).state).map(webhookView);
  }

  /** Active or removed: the deliveries of a removed webhook stay visible. */
  async get(id: string): Promise<Webhook> {
    const w = (await this.load()).state.byId.get(id);
    if (!w) throw new DomainError('WEBHOOK_NOT_FOUND', `no webhook ${id}`);
    return w;
  }

  async register(dto: RegisterWebhookDto, actor: Actor): Promise<WebhookView> {
    const id = randomUUID();
    const secret = this.secrets.seal(id, dto.secret);
    await this.execute(actor, (state) => decideRegister(state, { id, url: dto.url, description: dto.description, events: dto.events ?? null, secret }));
    return webhookView(await this.get(id));
  }

  async remove(id: string, actor: Actor): Promise<void> {
    await this.execute(actor, (state) => decideRemove(state, id));
  }

  private async execute(actor: Actor, decide: (state: WebhooksState) => WebhookEvent[]): Promise<WebhookEvent[]> {
    for (let attempt = 0; ; attempt++) {
      const { state, head } = await this.load();
      const events = decide(state);
      const occurredAt = this.clock.now().toISOString();
      const correlationId = randomUUID();
      try {
        const { position } = await appendChained(
          this.store,
          WEBHOOKS_STREAM,
          head,
          events.map((e) => ({ type: e.type, data: e.data, metadata: { actor: { sub: actor.sub, role: actor.role }, occurredAt, correlationId } })),
        );
        // Read your writes: once the answer is out, the outbox already knows (a removed webhook gets nothing more).
        await this.projector.waitFor(position, 10_000);
        return events;
      } catch (e) {
        if (e instanceof ConcurrencyError && attempt < MAX_RETRIES) continue;
        throw e;
      }
    }
  }

  async deliveries(channel: 'webhook' | 'email', target: string | undefined, q: { status?: string; campaign?: string; limit?: number; after?: number }) {
    const where = ['channel = ?', 'event_position > ?'];
    const params: unknown[] = [channel, q.after ?? 0];
    if (target !== undefined) {
      where.push('target = ?');
      params.push(target);
    }
    if (q.status) {
      where.push('status = ?');
      params.push(q.status);
    }
    if (q.campaign) {
      where.push('campaign_id = ?');
      params.push(q.campaign);
    }
    const limit = q.limit ?? 100;
    const rows = await this.db.all<OutboxRow>(`SELECT * FROM delivery_outbox WHERE ${where.join(' AND ')} ORDER BY event_position, delivery_id LIMIT ?`, [...params, limit]);
    const items = rows.map(deliveryView);
    return { items, next: items.length === limit ? items[items.length - 1].position : null };
  }

  /**
   * Sends a failed (or delivered) delivery again, with the same delivery id and body, as a fresh
   * series of attempts. Under the read models' lock, as pruning is: a delivery is either pruned
   * before (404) or pending after, and pending deliveries are not pruned.
   */
  async redeliver(channel: 'webhook' | 'email', target: string | undefined, deliveryId: string) {
    const after = await this.db.transaction(async (tx) => {
      await lockReadModels(tx);
      const [row] = await tx.all<OutboxRow>('SELECT * FROM delivery_outbox WHERE delivery_id = ? AND channel = ?', [deliveryId, channel]);
      if (!row || (target !== undefined && row.target !== target)) throw new DomainError('DELIVERY_NOT_FOUND', `no delivery ${deliveryId}`);
      if (row.status === 'cancelled') throw new DomainError('DELIVERY_CANCELLED', `delivery ${deliveryId} was cancelled: ${row.last_error ?? 'webhook removed'}`);
      if (row.status !== 'pending') {
        await tx.run(
          `UPDATE delivery_outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, claimed_until = NULL WHERE delivery_id = ? AND status IN ('failed', 'delivered', 'skipped')`,
          [this.clock.now().toISOString(), deliveryId],
        );
      }
      const [updated] = await tx.all<OutboxRow>('SELECT * FROM delivery_outbox WHERE delivery_id = ?', [deliveryId]);
      return updated;
    });
    return deliveryView(after);
  }
}
