import {
  addDuration,
  addDurationTimes,
  DURATION_PATTERN,
  durationToMilliseconds,
  isValidDuration,
  isZeroDuration,
  parseDuration,
  subtractDuration,
} from './duration';

describe('parseDuration', () => {
  it('reads every component of PnYnMnWnDTnHnMnS', () => {
    expect(parseDuration('P1Y2M3W4DT5H6M7S')).toEqual({
      years: 1,
      months: 2,
      weeks: 3,
      days: 4,
      hours: 5,
      minutes: 6,
      seconds: 7,
    });
  });

  it('reads the short forms a bureau writes', () => {
    expect(parseDuration('P14D')).toMatchObject({ days: 14, months: 0, hours: 0 });
    expect(parseDuration('P2M')).toMatchObject({ months: 2, minutes: 0 });
    expect(parseDuration('PT2M')).toMatchObject({ minutes: 2, months: 0 });
    expect(parseDuration('P1W')).toMatchObject({ weeks: 1 });
    expect(parseDuration('PT12H')).toMatchObject({ hours: 12 });
  });

  it('accepts fractional seconds', () => {
    expect(parseDuration('PT1.25S').seconds).toBe(1.25);
    expect(parseDuration('P1DT0.5S')).toMatchObject({ days: 1, seconds: 0.5 });
  });

  it.each(['', 'P', 'PT', 'P1DT', '14D', 'p14d', 'P1.5D', 'PT1.5H', 'P-1D', 'P1D2Y', 'PT1H1D', 'P 1D', 'P1S', 'P1DT.5S'])(
    'refuses %j with a message naming the input and the expected form',
    (bad) => {
      expect(() => parseDuration(bad)).toThrow(`invalid ISO-8601 duration ${JSON.stringify(bad)}`);
      expect(() => parseDuration(bad)).toThrow(/PnYnMnWnDTnHnMnS/);
    },
  );

  it('refuses numbers too large to count exactly', () => {
    expect(() => parseDuration('P99999999999999999999D')).toThrow(/days out of range/);
  });

  it('refuses non-strings', () => {
    expect(() => parseDuration(14 as unknown as string)).toThrow(/not a string/);
  });
});

describe('isValidDuration', () => {
  it('says yes to durations and no to anything else', () => {
    expect(isValidDuration('P3D')).toBe(true);
    expect(isValidDuration('PT0.5S')).toBe(true);
    expect(isValidDuration('P3')).toBe(false);
    expect(isValidDuration(undefined)).toBe(false);
    expect(isValidDuration(3)).toBe(false);
  });

  it('agrees with DURATION_PATTERN on well-formed input', () => {
    for (const s of ['P1Y', 'P1M', 'PT1M', 'P1W', 'P1Y2M3W4DT5H6M7.5S', 'P', 'PT', 'P1H']) {
      expect(isValidDuration(s)).toBe(DURATION_PATTERN.test(s));
    }
  });
});

describe('isZeroDuration', () => {
  it('tells P0D apart from P1D', () => {
    expect(isZeroDuration('P0D')).toBe(true);
    expect(isZeroDuration('PT0.0S')).toBe(true);
    expect(isZeroDuration('P1D')).toBe(false);
  });
});

describe('addDuration', () => {
  it('adds days, hours, minutes and seconds exactly', () => {
    expect(addDuration('2013-09-01T00:00:00.000Z', 'P14D').toISOString()).toBe('2013-09-15T00:00:00.000Z');
    expect(addDuration('2013-09-01T00:00:00.000Z', 'P1W').toISOString()).toBe('2013-09-08T00:00:00.000Z');
    expect(addDuration('2013-09-01T23:30:00.000Z', 'PT1H').toISOString()).toBe('2013-09-02T00:30:00.000Z');
    expect(addDuration('2013-09-01T00:00:00.000Z', 'PT90M').toISOString()).toBe('2013-09-01T01:30:00.000Z');
    expect(addDuration('2013-09-01T00:00:00.000Z', 'PT1.5S').toISOString()).toBe('2013-09-01T00:00:01.500Z');
  });

  it('adds months on the calendar, keeping the time of day', () => {
    expect(addDuration('2013-08-22T02:00:00.000Z', 'P2M').toISOString()).toBe('2013-10-22T02:00:00.000Z');
    expect(addDuration('2013-11-15T00:00:00.000Z', 'P3M').toISOString()).toBe('2014-02-15T00:00:00.000Z');
  });

  it('clamps to the end of a shorter month', () => {
    expect(addDuration('2014-01-31T08:00:00.000Z', 'P1M').toISOString()).toBe('2014-02-28T08:00:00.000Z');
    expect(addDuration('2012-01-31T08:00:00.000Z', 'P1M').toISOString()).toBe('2012-02-29T08:00:00.000Z');
    expect(addDuration('2012-02-29T00:00:00.000Z', 'P1Y').toISOString()).toBe('2013-02-28T00:00:00.000Z');
  });

  it('applies the calendar part before the exact part', () => {
    // 30 Jan + 1 month = 28 Feb, + 1 day = 1 March; days first would give 31 Jan + 1 month = 28 Feb.
    expect(addDuration('2014-01-30T00:00:00.000Z', 'P1M1D').toISOString()).toBe('2014-03-01T00:00:00.000Z');
  });

  it('counts years as twelve months', () => {
    expect(addDuration('2010-07-01T00:00:00.000Z', 'P1Y6M').toISOString()).toBe('2012-01-01T00:00:00.000Z');
  });

  it('takes a Date without changing it', () => {
    const d = new Date('2013-09-01T00:00:00.000Z');
    expect(addDuration(d, 'P1M').toISOString()).toBe('2013-10-01T00:00:00.000Z');
    expect(d.toISOString()).toBe('2013-09-01T00:00:00.000Z');
  });

  it('reads instants with an offset', () => {
    expect(addDuration('2013-09-01T00:00:00+08:00', 'P1D').toISOString()).toBe('2013-09-01T16:00:00.000Z');
  });

  it('refuses an invalid instant or duration', () => {
    expect(() => addDuration('yesterday', 'P1D')).toThrow('invalid instant "yesterday"');
    expect(() => addDuration('2013-09-01T00:00:00Z', '1 day')).toThrow(/invalid ISO-8601 duration "1 day"/);
  });

  it('refuses results outside the Date range', () => {
    expect(() => addDuration('2013-09-01T00:00:00Z', 'P999999999Y')).toThrow(/out of range/);
  });
});

describe('subtractDuration', () => {
  it('finds the instant a reminder is due before a deadline', () => {
    expect(subtractDuration('2013-10-31T16:00:00.000Z', 'P3D').toISOString()).toBe('2013-10-28T16:00:00.000Z');
  });

  it('subtracts months on the calendar', () => {
    expect(subtractDuration('2014-03-31T00:00:00.000Z', 'P1M').toISOString()).toBe('2014-02-28T00:00:00.000Z');
    expect(subtractDuration('2014-01-15T00:00:00.000Z', 'P2M').toISOString()).toBe('2013-11-15T00:00:00.000Z');
  });
});

describe('durationToMilliseconds', () => {
  it('gives the exact length of durations without years or months', () => {
    expect(durationToMilliseconds('P1W')).toBe(7 * 86_400_000);
    expect(durationToMilliseconds('P1DT1H1M1.5S')).toBe(86_400_000 + 3_600_000 + 60_000 + 1_500);
  });

  it('refuses months, whose length depends on the calendar', () => {
    expect(() => durationToMilliseconds('P1M')).toThrow(/no fixed length/);
  });
});

describe('addDurationTimes', () => {
  it('adds k times the duration in one step, clamping only the result to its month', () => {
    expect(addDurationTimes('2025-01-31T00:00:00Z', 'P1M', 3).toISOString()).toBe('2025-04-30T00:00:00.000Z');
    expect(addDurationTimes('2025-01-31T00:00:00Z', 'P1M', 2).toISOString()).toBe('2025-03-31T00:00:00.000Z');
    expect(addDurationTimes('2025-01-01T00:00:00Z', 'P1DT1H', 3).toISOString()).toBe('2025-01-04T03:00:00.000Z');
    expect(addDurationTimes('2025-01-01T00:00:00Z', 'P1M', 0).toISOString()).toBe('2025-01-01T00:00:00.000Z');
  });

  it('refuses a count that is not a whole number of zero or more', () => {
    expect(() => addDurationTimes('2025-01-01T00:00:00Z', 'P1D', -1)).toThrow(/1 times|-1 times/);
    expect(() => addDurationTimes('2025-01-01T00:00:00Z', 'P1D', 1.5)).toThrow();
  });
});
