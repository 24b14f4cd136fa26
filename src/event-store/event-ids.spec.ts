import { SequentialEventIds, sequentialEventId } from './event-ids';

const VERSION_8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('sequential event ids', () => {
  it('are version 8 UUIDs (RFC 9562 variant) that sort in the order they were made', () => {
    const gen = new SequentialEventIds();
    const ids = Array.from({ length: 5000 }, () => gen.next());
    for (const id of ids) expect(id).toMatch(VERSION_8);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('keep sorting past a carry into the fourth group', () => {
    const gen = new SequentialEventIds();
    (gen as unknown as { counter: number }).counter = 0xffff_ffff_fffe;
    const [a, b, c] = [gen.next(), gen.next(), gen.next()];
    expect(a.slice(19)).toBe('8000-fffffffffffe');
    expect(b.slice(19)).toBe('8000-ffffffffffff');
    expect(c.slice(19)).toBe('8001-000000000000');
    expect([c, a, b].sort()).toEqual([a, b, c]);
  });

  it('carry a random prefix of their generator, and nothing of the time', () => {
    const a = new SequentialEventIds(Buffer.from('0123456789abcdef', 'hex'));
    expect(a.next()).toBe('01234567-89ab-8cde-8000-000000000000');
    expect(a.next()).toBe('01234567-89ab-8cde-8000-000000000001');
    const [x, y] = [new SequentialEventIds().next(), new SequentialEventIds().next()];
    expect(x.slice(0, 18)).not.toBe(y.slice(0, 18));
    expect(sequentialEventId()).toMatch(VERSION_8);
  });
});
