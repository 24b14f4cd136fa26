import type { RecordedEvent } from '../../src/event-store/event-store.port';
import type { SealedSecret } from '../../src/webhooks/domain/webhooks';

/** A sealed secret of the right shape (the outbox specs never open it). */
export const SEALED: SealedSecret = { v: 1, alg: 'A256GCM', iv: 'aXY', tag: 'dGFn', data: 'ZGF0YQ' };

/** An event as the log gives it, at `position` (its id and revision derived from it), by the bureau. */
export function loggedEvent(position: number, streamId: string, type: string, data: unknown, occurredAt = new Date(Date.UTC(2013, 9, 1, 0, position))): RecordedEvent {
  return {
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    streamId,
    type,
    revision: position,
    position,
    data,
    metadata: { occurredAt: occurredAt.toISOString(), actor: { sub: 'office', role: 'bureau' } },
    recordedAt: occurredAt.toISOString(),
  };
}

/** A reminder of campaign c1's stage `collect` to `unit` (an escalation goes to the leading group). */
export function reminderEvent(position: number, unit: string, o: { level?: 'before' | 'escalation'; dueAt?: string; occurredAt?: Date } = {}): RecordedEvent {
  const level = o.level ?? 'before';
  return loggedEvent(
    position,
    'reminders-c1',
    level === 'escalation' ? 'ReminderEscalated' : 'ReminderIssued',
    {
      campaignId: 'c1', stage: 'collect', stageEnteredAt: '2013-09-01T00:00:00.000Z', deadline: '2013-10-10T00:00:00.000Z',
      unit, level, occurrence: 1, dueAt: o.dueAt ?? '2013-10-07T00:00:00.000Z', late: false, deliverables: [{ id: 'plan', status: 'missing' }],
    },
    o.occurredAt,
  );
}

/** Webhook `id` registered, for `events` (null: every type). */
export const webhookRegistered = (position: number, id: string, events: string[] | null, occurredAt?: Date) =>
  loggedEvent(position, 'webhooks', 'WebhookRegistered', { id, url: `https://r.example/${id}`, events, secret: SEALED }, occurredAt);
