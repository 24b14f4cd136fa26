import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { campaignHistory } from '../bench/seed';
import { readCheckpoint } from './projection';
import { PROJECTION_LINGER_MS, ProjectionRunner } from './projection-runner';
import { Column, SqliteDb } from './sql-db';

/** A read-model db that refuses any batch writing campaign c1's summary row while `failing` is set. */
class FailingDb extends SqliteDb {
  failing = false;
  override insertRows(table: string, columns: readonly Column[], rows: unknown[][], tail?: string): Promise<void> {
    if (this.failing && table === 'rm_campaigns' && rows.some((r) => r[0] === 'c1')) return Promise.reject(new Error('the read-model db refused c1'));
    return super.insertRows(table, columns, rows, tail);
  }
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('the projection runner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'docket-runner-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('closed while a batch keeps failing, projects nothing after it: the checkpoint stays before the batch, which the next start projects', async () => {
    const workflow = loadWorkflowsDir().find((w) => w.id === 'three-searches')!;
    const store = new SqliteEventStore({ filename: join(dir, 'log.sqlite'), synchronous: 'NORMAL' });
    const launch = (id: string) =>
      store.appendToStream(
        `campaign-${id}`,
        campaignHistory({ campaignId: id, workflow, units: 2, stages: 0, lastStageShare: 0 }, new Date('2013-09-01T00:00:00Z')).map((e, i) => ({
          id: `${id}-${i}`,
          type: e.type,
          data: e.data,
          metadata: { occurredAt: '2013-09-01T00:00:00.000Z', actor: { sub: 'office', role: 'bureau' } },
        })),
      );
    await launch('c1');
    const db = new FailingDb(join(dir, 'read-models.sqlite'), 'NORMAL');
    const warnings: string[] = [];
    let position = 0;
    const events = { migrated: () => undefined, projected: (p: number) => (position = p), warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
    db.failing = true;
    const runner = new ProjectionRunner(db, store, events);
    await runner.start();
    await until(() => warnings.length > 0); // c1's batch fails, and is retried
    await launch('c2');
    await new Promise((r) => setTimeout(r, PROJECTION_LINGER_MS * 3)); // c2's batch is queued behind it, and would go through alone
    await runner.close();
    expect(position).toBe(0);
    db.failing = false;
    expect(await readCheckpoint(db)).toBe(0);
    expect(await db.all('SELECT id FROM rm_campaigns')).toEqual([]);

    const next = new ProjectionRunner(db, store, events);
    await next.start();
    const head = (await store.readAll({ maxCount: 10_000 })).at(-1)!.position;
    await until(() => position === head);
    await next.close();
    expect(await db.all('SELECT id FROM rm_campaigns ORDER BY id')).toEqual([{ id: 'c1' }, { id: 'c2' }]);
    await db.close();
    await store.close();
  });
});
