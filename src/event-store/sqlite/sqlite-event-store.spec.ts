import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir } from '../../../test/support/docket-harness';
import type { RecordedEvent } from '../event-store.port';
import { SqliteEventStore } from './sqlite-event-store';

const event = (id: string) => ({ id, type: 'Noted', data: { id }, metadata: {} });

describe('the SQLite store and readers on other connections', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'docket-sqlite-store-'))));
  afterEach(() => removeDir(dir));

  it('tells its commit listeners once per commit, a group commit included', async () => {
    const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite') });
    let calls = 0;
    const stop = store.onCommitted(() => calls++);
    await store.appendToStream('s-1', [event('a')]);
    expect(calls).toBe(1);
    await Promise.all([store.appendToStream('s-2', [event('b')]), store.appendToStream('s-3', [event('c')]), store.appendToStream('s-4', [event('d')])]);
    expect(calls).toBe(2);
    stop();
    await store.appendToStream('s-1', [event('e')]);
    expect(calls).toBe(2);
    await store.close();
  });

  it('wakes its subscriptions when told another connection committed, not at their next poll', async () => {
    const file = join(dir, 'docket.sqlite');
    const writer = new SqliteEventStore({ filename: file });
    const reader = new SqliteEventStore({ filename: file, pollIntervalMs: 60_000 });
    const seen: RecordedEvent[] = [];
    const sub = reader.subscribeToAll({}, (e) => void seen.push(e));
    try {
      await sub.caughtUp;
      writer.onCommitted(() => reader.wake());
      await writer.appendToStream('s-1', [event('a')]);
      for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(seen.map((e) => e.id)).toEqual(['a']);
    } finally {
      await sub.close();
      await reader.close();
      await writer.close();
    }
  });
});
