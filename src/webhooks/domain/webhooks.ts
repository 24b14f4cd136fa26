import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../../common/domain/domain-error';

/**
 * Webhook registrations are events of one stream, `webhooks`, hash-chained like every
 * stream: WebhookRegistered {id, url, description?, events, secret (sealed)} and
 * WebhookRemoved {id}. Which webhooks were active at a point of the log decides which
 * receivers a reminder at that point goes to, so deliveries can be projected from the log.
 */
export const WEBHOOKS_STREAM = 'webhooks';

/** The events a webhook can receive. */
export const DELIVERABLE_EVENT_TYPES = ['ReminderIssued', 'ReminderEscalated'] as const;
export type DeliverableEventType = (typeof DELIVERABLE_EVENT_TYPES)[number];

/** Most webhooks active at once: each reminder is sent to every one of them. */
export const MAX_ACTIVE_WEBHOOKS = 50;

/** The receiver's shared secret, encrypted (AES-256-GCM) so the log never holds it in clear. */
export interface SealedSecret {
  v: 1;
  alg: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

export interface WebhookRegisteredData {
  id: string;
  url: string;
  description?: string;
  /** null: every deliverable event type. */
  events: DeliverableEventType[] | null;
  secret: SealedSecret;
}

export interface WebhookRemovedData {
  id: string;
}

export type WebhookEvent = { type: 'WebhookRegistered'; data: WebhookRegisteredData } | { type: 'WebhookRemoved'; data: WebhookRemovedData };

export interface Webhook extends WebhookRegisteredData {
  createdAt: string;
  createdBy: string;
  removedAt?: string;
  removedBy?: string;
}

export interface WebhooksState {
  /** Every webhook ever registered, by id (removed ones carry removedAt). */
  byId: Map<string, Webhook>;
}

export const initialWebhooksState = (): WebhooksState => ({ byId: new Map() });

export interface WebhookEventEnvelope {
  type: string;
  data: unknown;
  metadata: { occurredAt?: string; actor?: { sub?: string } };
}

export function evolveWebhooks(state: WebhooksState, e: WebhookEventEnvelope): WebhooksState {
  const at = e.metadata.occurredAt ?? '';
  const by = e.metadata.actor?.sub ?? '';
  if (e.type === 'WebhookRegistered') {
    const d = e.data as WebhookRegisteredData;
    if (!state.byId.has(d.id)) state.byId.set(d.id, { ...d, createdAt: at, createdBy: by });
  } else if (e.type === 'WebhookRemoved') {
    const w = state.byId.get((e.data as WebhookRemovedData).id);
    if (w && !w.removedAt) Object.assign(w, { removedAt: at, removedBy: by });
  }
  return state;
}

export const activeWebhooks = (state: WebhooksState) => [...state.byId.values()].filter((w) => !w.removedAt);

export interface RegisterWebhook {
  id: string;
  url: string;
  description?: string;
  events: DeliverableEventType[] | null;
  secret: SealedSecret;
}

export function decideRegister(state: WebhooksState, cmd: RegisterWebhook): WebhookEvent[] {
  const active = activeWebhooks(state);
  // Two registrations of one receiver would send it every reminder twice under different delivery ids.
  const same = active.find((w) => w.url === cmd.url);
  if (same) throw new DomainError('WEBHOOK_EXISTS', `a webhook for ${cmd.url} is already registered`, { webhook: same.id });
  if (active.length >= MAX_ACTIVE_WEBHOOKS) throw new DomainError('WEBHOOK_LIMIT_REACHED', `at most ${MAX_ACTIVE_WEBHOOKS} webhooks may be active; remove one first`);
  const data: WebhookRegisteredData = { id: cmd.id, url: cmd.url, events: cmd.events, secret: cmd.secret };
  if (cmd.description !== undefined) data.description = cmd.description;
  return [{ type: 'WebhookRegistered', data }];
}

export function decideRemove(state: WebhooksState, id: string): WebhookEvent[] {
  const w = state.byId.get(id);
  if (!w || w.removedAt) throw new DomainError('WEBHOOK_NOT_FOUND', `no active webhook ${id}`);
  return [{ type: 'WebhookRemoved', data: { id } }];
}

/** sha-256 of the parts, formatted as a UUID (version nibble 5, RFC 4122 variant), as reminder ids are. */
export function hashUuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export type DeliveryChannel = 'webhook' | 'email';

/**
 * One delivery of one event to one target (a webhook id, or an e-mail recipient key): the
 * same every time it is computed, so a re-projection or a second instance never makes another.
 */
export const deliveryId = (channel: DeliveryChannel, target: string, eventId: string) => hashUuid('docket-delivery', channel, target, eventId);

/**
 * The wait before attempt `attempts + 1`, after `attempts` failed ones: base·2^(attempts−1),
 * at most `max`, with jitter into its upper half. The jitter is derived from the delivery id,
 * so deliveries that failed together spread out, and a replay of the schedule is exact.
 */
export function backoffDelay(attempts: number, baseMs: number, maxMs: number, seed: string): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  const f = parseInt(createHash('sha256').update(`${seed}:${attempts}`).digest('hex').slice(0, 8), 16) / 0x1_0000_0000;
  return Math.max(1, Math.floor(ceiling / 2 + (ceiling / 2) * f));
}

/** X-Docket-Signature: "sha256=" + hex HMAC-SHA256, keyed with the webhook's secret, over "<timestamp>.<body>". */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (docs/webhooks.md): recompute and compare in constant time. */
export function verifySignature(secret: string, timestamp: string, body: string, header: string): boolean {
  const want = Buffer.from(signature(secret, timestamp, body));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}
