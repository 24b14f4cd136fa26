/**
 * ISO-8601 instants as the API takes them: a date-time with a zone (`2013-12-31T16:00:00Z`,
 * `2014-01-01T00:00+08:00`), or, where allowed, a date alone (midnight UTC). Strict where
 * Date.parse is lenient: `2030-02-31` is not 3 March, `24:00` is not the next day, and years
 * outside 1900–9999 (or a zone pushing the instant out of them) are refused.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|([+-])(\d{2}):(\d{2})))?$/;
const EARLIEST = Date.UTC(1900, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Milliseconds since the epoch, or undefined when `value` is not such an instant. */
export function parseIsoInstant(value: unknown, options: { dateOnly?: boolean } = {}): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone, sign, zh, zm] = m;
  if (h === undefined && !options.dateOnly) return undefined;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1900) return undefined; // and Date.UTC reads years 0–99 as 1900–1999
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  let t = Date.UTC(year, month - 1, day);
  if (h !== undefined) {
    const [hour, minute, second] = [Number(h), Number(mi), Number(s ?? 0)];
    if (hour > 23 || minute > 59 || second > 59) return undefined;
    t += ((hour * 60 + minute) * 60 + second) * 1000 + Math.floor(Number(`0${frac ?? ''}`) * 1000);
    if (zone !== 'Z') {
      const [offsetHours, offsetMinutes] = [Number(zh), Number(zm)];
      if (offsetHours > 23 || offsetMinutes > 59) return undefined;
      t -= (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
    }
  }
  return t >= EARLIEST && t <= LATEST ? t : undefined;
}
