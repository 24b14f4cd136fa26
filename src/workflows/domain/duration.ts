/**
 * ISO-8601 durations (PnYnMnWnDTnHnMnS) as workflow definitions use them: relative
 * deadlines, reminder offsets, `after: {duration}` guards. Pure: no clock, no imports.
 *
 * Years and months are calendar units (P1M after 31 January is the last day of
 * February, in UTC); weeks, days, hours, minutes and seconds are exact
 * (a day is 24 hours). Only the seconds may carry a fraction (PT1.5S).
 */
export interface Duration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

/**
 * The same pattern as `#/definitions/duration` in workflows/workflow.schema.json
 * (a spec keeps the two equal). At least one component; a `T` needs a time component.
 */
export const DURATION_PATTERN =
  /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

const PARTS =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

const MS = { weeks: 604_800_000, days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1_000 };

function invalid(iso: unknown, why: string): Error {
  return new Error(
    `invalid ISO-8601 duration ${JSON.stringify(iso)}: ${why} (expected PnYnMnWnDTnHnMnS, e.g. P14D, P2M, PT12H, PT1.5S)`,
  );
}

/** Parses an ISO-8601 duration; throws an Error naming the input and the expected form. */
export function parseDuration(iso: string): Duration {
  if (typeof iso !== 'string') throw invalid(iso, 'not a string');
  if (!DURATION_PATTERN.test(iso)) throw invalid(iso, 'not of the form');
  const m = PARTS.exec(iso)!;
  const num = (s: string | undefined, name: string, integer = true): number => {
    if (s === undefined) return 0;
    const n = Number(s);
    if (integer ? !Number.isSafeInteger(n) : !Number.isFinite(n) || n > Number.MAX_SAFE_INTEGER) {
      throw invalid(iso, `${name} out of range`);
    }
    return n;
  };
  return {
    years: num(m[1], 'years'),
    months: num(m[2], 'months'),
    weeks: num(m[3], 'weeks'),
    days: num(m[4], 'days'),
    hours: num(m[5], 'hours'),
    minutes: num(m[6], 'minutes'),
    seconds: num(m[7], 'seconds', false),
  };
}

export function isValidDuration(iso: unknown): iso is string {
  if (typeof iso !== 'string') return false;
  try {
    parseDuration(iso);
    return true;
  } catch {
    return false;
  }
}

/** True when every component is zero (P0D, PT0S): such a duration never moves an instant. */
export function isZeroDuration(iso: string): boolean {
  const d = parseDuration(iso);
  return Object.values(d).every((v) => v === 0);
}

/**
 * The exact length in milliseconds. Throws for durations with years or months,
 * whose length depends on the instant they are added to (use addDuration).
 */
export function durationToMilliseconds(iso: string): number {
  const d = parseDuration(iso);
  if (d.years || d.months) {
    throw new Error(`ISO-8601 duration "${iso}" has years or months and has no fixed length; add it to an instant instead`);
  }
  return exactMilliseconds(d);
}

function exactMilliseconds(d: Duration): number {
  return (
    d.weeks * MS.weeks +
    d.days * MS.days +
    d.hours * MS.hours +
    d.minutes * MS.minutes +
    Math.round(d.seconds * MS.seconds)
  );
}

function toDate(instant: Date | string): Date {
  const date = instant instanceof Date ? new Date(instant.getTime()) : new Date(instant);
  if (Number.isNaN(date.getTime())) throw new Error(`invalid instant ${JSON.stringify(instant)}`);
  return date;
}

function daysInMonthUTC(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/**
 * Calendar part first (years, months; the day is clamped to the month's end), then the exact part;
 * `times` is how many times the duration is added (negative: subtracted).
 */
function shift(instant: Date | string, iso: string, times: number): Date {
  const d = parseDuration(iso);
  const date = toDate(instant);
  const months = times * (d.years * 12 + d.months);
  if (months !== 0) {
    const total = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
    const year = Math.floor(total / 12);
    const month = total - year * 12;
    const day = Math.min(date.getUTCDate(), daysInMonthUTC(year, month));
    date.setUTCFullYear(year, month, day);
  }
  const result = new Date(date.getTime() + times * exactMilliseconds(d));
  if (Number.isNaN(result.getTime())) {
    throw new Error(`${JSON.stringify(iso)}${Math.abs(times) === 1 ? '' : ` × ${Math.abs(times)}`} ${times >= 0 ? 'after' : 'before'} ${JSON.stringify(instant)} is out of range`);
  }
  return result;
}

/** `instant` plus the duration: calendar arithmetic in UTC for years and months, exact for the rest. */
export function addDuration(instant: Date | string, iso: string): Date {
  return shift(instant, iso, 1);
}

/**
 * `instant` plus `times` (a whole number ≥ 0) times the duration, in one step: P1M three times
 * after 31 January is 30 April (each result clamped to its own month's end), where adding P1M
 * three times over would give 28 April.
 */
export function addDurationTimes(instant: Date | string, iso: string, times: number): Date {
  if (!Number.isSafeInteger(times) || times < 0) throw new Error(`cannot add ${JSON.stringify(iso)} ${times} times`);
  return shift(instant, iso, times);
}

/** `instant` minus the duration (e.g. the first reminder, `before` a deadline). */
export function subtractDuration(instant: Date | string, iso: string): Date {
  return shift(instant, iso, -1);
}
