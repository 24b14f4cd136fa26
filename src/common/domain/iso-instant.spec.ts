import { parseIsoInstant } from './iso-instant';

describe('ISO-8601 instants', () => {
  it('reads date-times with a zone as Date.parse does', () => {
    for (const s of ['2013-12-31T16:00:00Z', '2013-12-31T16:00Z', '2014-01-01T00:00:00+08:00', '2014-01-01T00:00:00.123-05:30', '2024-02-29T23:59:59Z', '1900-01-01T00:00:00Z']) {
      expect(parseIsoInstant(s)).toBe(Date.parse(s));
    }
  });

  it('reads a date alone, as midnight UTC, only where allowed', () => {
    expect(parseIsoInstant('2013-09-01', { dateOnly: true })).toBe(Date.UTC(2013, 8, 1));
    expect(parseIsoInstant('2013-09-01')).toBeUndefined();
  });

  it('refuses what Date.parse would quietly move: days past the month, 24:00, leap days of common years, out-of-range zones', () => {
    for (const s of ['2030-02-31T00:00:00Z', '2023-02-29T00:00:00Z', '2030-04-31T00:00:00Z', '2030-01-01T24:00:00Z', '2030-01-01T23:60:00Z', '2030-01-01T23:59:60Z', '2030-13-01T00:00:00Z', '2030-00-10T00:00:00Z', '2030-01-01T00:00:00+24:00', '2030-01-01T00:00:00+05:60']) {
      expect([s, parseIsoInstant(s)]).toEqual([s, undefined]);
    }
  });

  it('refuses years before 1900 or past 9999, also when the zone pushes the instant out', () => {
    for (const s of ['0000-01-01T00:00:00Z', '1899-12-31T23:59:59Z', '9999-12-31T23:59:59-23:59', '1900-01-01T00:00:00+00:01']) expect(parseIsoInstant(s)).toBeUndefined();
    expect(parseIsoInstant('9999-12-31T23:59:59Z')).toBe(Date.parse('9999-12-31T23:59:59Z'));
  });

  it('refuses anything else', () => {
    for (const v of ['', '2013-09-01T00:00:00', '2013-9-1T00:00Z', ' 2013-09-01T00:00:00Z', '2013-09-01T00:00:00z', 20130901, null, undefined]) expect(parseIsoInstant(v)).toBeUndefined();
  });
});
