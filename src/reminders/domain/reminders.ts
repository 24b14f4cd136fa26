import { createHash } from 'node:crypto';
import type { ReminderPolicy } from '../../workflows/domain/workflow-definition';
import { addDuration, addDurationTimes, durationToMilliseconds, parseDuration, subtractDuration } from '../../workflows/domain/duration';

/**
 * Reminders for late units, decided as plain data. A stage with a deadline D and a policy
 * {before, at, every, escalateAfter} has the schedule
 *   before: D − before · due: D · overdue #k: D + k·every (k ≥ 1) · escalation: D + escalateAfter.
 * At each scan only the latest point of the reminder series that has fallen due is issued
 * (after downtime a unit gets one reminder, marked late, not a burst of repeats), and the
 * escalation once. Ids are derived from (campaign, stage entry, deadline, unit, level,
 * occurrence), so two instances or a restart can never issue one twice.
 */
export type ReminderLevel = 'before' | 'due' | 'overdue' | 'escalation';

export const REMINDERS_STREAM_PREFIX = 'reminders-';
export const remindersStream = (campaignId: string) => `${REMINDERS_STREAM_PREFIX}${campaignId}`;

export interface SchedulePoint {
  level: ReminderLevel;
  occurrence: number;
  dueAt: string;
}

export interface LateUnit {
  unit: string;
  /** The stage's deliverables the unit still owes, with their status (missing | returned). */
  deliverables: { id: string; status: 'missing' | 'returned' }[];
}

export interface ReminderContext {
  campaignId: string;
  stage: string;
  stageEnteredAt: string;
  deadline: string;
  policy: ReminderPolicy;
  lateUnits: LateUnit[];
  now: Date;
  /** A reminder issued more than this long after it fell due is marked late. */
  lateAfterMs: number;
  /** Ids already in the campaign's reminder stream. */
  issued: ReadonlySet<string>;
}

export interface ReminderData {
  campaignId: string;
  stage: string;
  stageEnteredAt: string;
  deadline: string;
  unit: string;
  level: ReminderLevel;
  occurrence: number;
  dueAt: string;
  late: boolean;
  deliverables: LateUnit['deliverables'];
}

export interface ReminderEvent {
  id: string;
  type: 'ReminderIssued' | 'ReminderEscalated';
  data: ReminderData;
}

export function reminderId(key: { campaignId: string; stage: string; stageEnteredAt: string; deadline: string; unit: string; level: ReminderLevel; occurrence: number }): string {
  const h = createHash('sha256')
    .update([key.campaignId, key.stage, key.stageEnteredAt, key.deadline, key.unit, key.level, key.occurrence].join('\u0000'))
    .digest('hex');
  // Formatted as a UUID (version nibble 5, RFC 4122 variant): stores that want UUID ids accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * How many overdue reminders have fallen due at `t`: the largest k with D + k·every ≤ t (0 if
 * none). An exact \`every\` (days, hours, …) is divided into the time since the deadline; one with
 * months or years is walked, a point a month or more apart, each reckoned from D.
 */
function overdueCount(deadline: string, every: string, t: number): number {
  const d = Date.parse(deadline);
  if (t < d) return 0;
  const { years, months } = parseDuration(every);
  if (!years && !months) {
    const step = durationToMilliseconds(every); // > 0: the workflow loader refuses a shorter \`every\`
    return step > 0 ? Math.floor((t - d) / step) : 0;
  }
  let k = 0;
  while (addDurationTimes(deadline, every, k + 1).getTime() <= t) k += 1;
  return k;
}

/** The latest reminder of the series (before / due / overdue #k) that has fallen due at `now`, if any. */
export function latestReminderPoint(deadline: string, policy: ReminderPolicy, now: Date): SchedulePoint | undefined {
  const t = now.getTime();
  const d = Date.parse(deadline);
  if (t >= d) {
    if (policy.every) {
      const k = overdueCount(deadline, policy.every, t);
      if (k > 0) return { level: 'overdue', occurrence: k, dueAt: addDurationTimes(deadline, policy.every, k).toISOString() };
    }
    if (policy.at) return { level: 'due', occurrence: 1, dueAt: new Date(d).toISOString() };
  }
  if (policy.before) {
    const before = subtractDuration(deadline, policy.before);
    if (t >= before.getTime() && (t < d || (!policy.at && !policy.every))) return { level: 'before', occurrence: 1, dueAt: before.toISOString() };
  }
  return undefined;
}

export function escalationPoint(deadline: string, policy: ReminderPolicy, now: Date): SchedulePoint | undefined {
  if (!policy.escalateAfter) return undefined;
  const at = addDuration(deadline, policy.escalateAfter);
  return now.getTime() >= at.getTime() ? { level: 'escalation', occurrence: 1, dueAt: at.toISOString() } : undefined;
}

/** When the next point of the schedule after `now` falls due (null: nothing more to remind). */
export function nextReminderAt(deadline: string, policy: ReminderPolicy, now: Date): string | null {
  const t = now.getTime();
  const candidates: number[] = [];
  if (policy.before) candidates.push(subtractDuration(deadline, policy.before).getTime());
  if (policy.at) candidates.push(Date.parse(deadline));
  if (policy.escalateAfter) candidates.push(addDuration(deadline, policy.escalateAfter).getTime());
  if (policy.every) candidates.push(addDurationTimes(deadline, policy.every, overdueCount(deadline, policy.every, t) + 1).getTime());
  const future = candidates.filter((c) => c > t).sort((a, b) => a - b);
  return future.length ? new Date(future[0]).toISOString() : null;
}

/**
 * The units that still owe a deliverable of the stage (missing, or returned for rework), in the
 * campaign's unit order, each with what it owes in the stage's deliverable order. `status` answers
 * for one cell: from a folded campaign state or from the read models, whichever is current.
 */
export function lateUnitsOf(units: readonly string[], deliverables: readonly { id: string }[], status: (unit: string, deliverable: string) => string): LateUnit[] {
  const late: LateUnit[] = [];
  for (const unit of units) {
    const owed: LateUnit['deliverables'] = [];
    for (const d of deliverables) {
      const s = status(unit, d.id);
      if (s === 'missing' || s === 'returned') owed.push({ id: d.id, status: s });
    }
    if (owed.length) late.push({ unit, deliverables: owed });
  }
  return late;
}

/** The reminders to issue now: for each late unit the latest due reminder and the escalation, unless already issued. */
export function decideReminders(ctx: ReminderContext): ReminderEvent[] {
  const points = [latestReminderPoint(ctx.deadline, ctx.policy, ctx.now), escalationPoint(ctx.deadline, ctx.policy, ctx.now)].filter(
    (p): p is SchedulePoint => p !== undefined,
  );
  const out: ReminderEvent[] = [];
  for (const p of points) {
    for (const u of ctx.lateUnits) {
      const key = { campaignId: ctx.campaignId, stage: ctx.stage, stageEnteredAt: ctx.stageEnteredAt, deadline: ctx.deadline, unit: u.unit, level: p.level, occurrence: p.occurrence };
      const id = reminderId(key);
      if (ctx.issued.has(id)) continue;
      out.push({
        id,
        type: p.level === 'escalation' ? 'ReminderEscalated' : 'ReminderIssued',
        data: { ...key, dueAt: p.dueAt, late: ctx.now.getTime() - Date.parse(p.dueAt) > ctx.lateAfterMs, deliverables: u.deliverables },
      });
    }
  }
  return out;
}
