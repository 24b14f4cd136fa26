import { KeyedLock } from './keyed-lock';

describe('KeyedLock', () => {
  it('runs work for one key one at a time, in arrival order', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const slow = (name: string, ms: number) =>
      lock.run('k', async () => {
        order.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`end ${name}`);
      });
    await Promise.all([slow('a', 20), slow('b', 1), slow('c', 5)]);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('lets different keys run side by side and survives a failing job', async () => {
    const lock = new KeyedLock();
    const seen: string[] = [];
    const failing = lock.run('x', async () => {
      throw new Error('boom');
    });
    await expect(failing).rejects.toThrow('boom');
    await Promise.all([lock.run('x', async () => seen.push('x')), lock.run('y', async () => seen.push('y'))]);
    expect(seen.sort()).toEqual(['x', 'y']);
  });
});
