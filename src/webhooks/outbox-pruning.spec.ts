import { reminderEvent, webhookRegistered } from '../../test/support/outbox-log';
import { PG_URL, readModelDialects } from '../../test/support/read-model-dialects';
import { ManualClock } from '../common/clock';
import { DomainError } from '../common/domain/domain-error';
import type { DocketConfig } from '../config/config';
import { DefinitionCache } from '../projections/campaign-read-model';
import { migrateReadModels, projectBatch } from '../projections/projection';
import { PostgresDb, SqlDb } from '../projections/sql-db';
import { prunedThrough, WEBHOOK_READ_MODEL_TABLES } from './delivery-outbox';
import { deliveryId } from './domain/webhooks';
import { pruneOutbox } from './outbox-pruning';
import { WebhooksService } from './webhooks.service';

const DAY = 86_400_000;
const day = (n: number) => new Date(Date.UTC(2013, 9, n));
const reminder = (position: number, unit: string, issued: number) => reminderEvent(position, unit, { dueAt: day(issued).toISOString(), occurredAt: day(issued) });

/** Webhook A, then reminders issued on 1, 2, 3, 20 and 21 October: each has a webhook row and an e-mail row. */
const LOG = [
  webhookRegistered(1, 'A', null, day(1)),
  reminder(2, 'u1', 1),
  reminder(3, 'u2', 2),
  reminder(4, 'u3', 3),
  reminder(5, 'u4', 20),
  reminder(6, 'u5', 21),
];
const RETENTION = 30 * DAY;

async function rows(db: SqlDb): Promise<string[]> {
  const all = await db.all<{ event_position: number | string; channel: string; status: string }>(
    'SELECT event_position, channel, status FROM delivery_outbox ORDER BY event_position, channel',
  );
  return all.map((r) => `#${r.event_position} ${r.channel} ${r.status}`);
}

/**
 * Makes `db`'s transactions run `meanwhile` right after their first statement matching `after`
 * (and wait 200 ms more): another session's work, between two statements of one prune batch.
 */
function interleave(db: SqlDb, after: RegExp, meanwhile: () => void) {
  const real = db.transaction.bind(db);
  let done = false;
  db.transaction = (work) =>
    real((tx) => {
      const hooked = Object.create(tx) as SqlDb;
      hooked.all = async (sql: string, params?: unknown[]) => {
        const result = await tx.all(sql, params);
        if (!done && after.test(sql)) {
          done = true;
          meanwhile();
          await new Promise((r) => setTimeout(r, 200));
        }
        return result as never;
      };
      return work(hooked);
    });
}

async function settle(db: SqlDb, position: number, channel: 'webhook' | 'email', status: string) {
  await db.run('UPDATE delivery_outbox SET status = ? WHERE event_position = ? AND channel = ?', [status, position, channel]);
}

/** Inside a describe: before each test, a read-model database holding LOG's outbox, settled as below; dropped after. */
function outboxOf(make: () => Promise<{ db: SqlDb; drop: () => Promise<void> }>): () => SqlDb {
  let db: SqlDb;
  let drop: () => Promise<void>;
  beforeEach(async () => {
    ({ db, drop } = await make());
    await migrateReadModels(db);
    await projectBatch(db, new DefinitionCache(), LOG);
    // #2 delivered; #3 one failed, one skipped; #4 the webhook still retrying; #5 and #6 delivered.
    await db.run(`UPDATE delivery_outbox SET status = 'delivered'`);
    await settle(db, 3, 'webhook', 'failed');
    await settle(db, 3, 'email', 'skipped');
    await settle(db, 4, 'webhook', 'pending');
  });
  afterEach(async () => {
    await db.close();
    await drop();
  });
  return () => db;
}

describe.each(readModelDialects('outbox_prune_spec'))('pruning the delivery outbox on %s', (_name, make) => {
  const outbox = outboxOf(make);
  let db: SqlDb;
  beforeEach(() => (db = outbox()));

  it('deletes settled deliveries past their retention in log order, up to the first one still pending', async () => {
    expect(await pruneOutbox(db, day(40), RETENTION)).toEqual({ rows: 4, through: 3 });
    expect(await rows(db)).toEqual(['#4 email delivered', '#4 webhook pending', '#5 email delivered', '#5 webhook delivered', '#6 email delivered', '#6 webhook delivered']);
    expect(await prunedThrough(db)).toBe(3);
  });

  it('goes on once the pending delivery settles, and keeps what is younger than the retention', async () => {
    await pruneOutbox(db, day(40), RETENTION);
    await settle(db, 4, 'webhook', 'cancelled');
    // 9 November less 30 days: the reminders of 20 and 21 October are kept.
    expect(await pruneOutbox(db, day(40), RETENTION)).toEqual({ rows: 2, through: 4 });
    expect(await rows(db)).toEqual(['#5 email delivered', '#5 webhook delivered', '#6 email delivered', '#6 webhook delivered']);
    // Later, they are old enough too.
    expect(await pruneOutbox(db, day(51), RETENTION)).toEqual({ rows: 4, through: 6 });
    expect(await rows(db)).toEqual([]);
    expect(await pruneOutbox(db, day(90), RETENTION)).toEqual({ rows: 0, through: 6 });
  });

  it('deletes nothing while everything is younger than the retention', async () => {
    expect(await pruneOutbox(db, day(20), RETENTION)).toEqual({ rows: 0, through: 0 });
    expect(await rows(db)).toHaveLength(10);
  });

  it('deletes the rows of one reminder together, however small the batch', async () => {
    await settle(db, 4, 'webhook', 'delivered');
    expect(await pruneOutbox(db, day(40), RETENTION, 1)).toEqual({ rows: 6, through: 4 });
    expect(await rows(db)).toEqual(['#5 email delivered', '#5 webhook delivered', '#6 email delivered', '#6 webhook delivered']);
  });

  it('does not queue a pruned reminder again when the read models are rebuilt', async () => {
    await pruneOutbox(db, day(40), RETENTION);
    const kept = await rows(db);
    for (const t of [...WEBHOOK_READ_MODEL_TABLES, 'rm_checkpoints']) await db.run(`DROP TABLE IF EXISTS ${t}`);
    await migrateReadModels(db);
    await projectBatch(db, new DefinitionCache(), LOG);
    expect(await rows(db)).toEqual(kept);
    // A reminder after the watermark still gets its rows.
    await projectBatch(db, new DefinitionCache(), [reminder(7, 'u6', 22)]);
    expect(await rows(db)).toEqual([...kept, '#7 email pending', '#7 webhook pending']);
  });

  it('stops at the projector checkpoint', async () => {
    await db.run(`UPDATE delivery_outbox SET status = 'delivered'`);
    await db.run('UPDATE rm_checkpoints SET position = 3');
    expect(await pruneOutbox(db, day(90), RETENTION)).toEqual({ rows: 4, through: 3 });
  });
});

// Several sessions at once: instances share the outbox on PostgreSQL (on SQLite one service owns the
// file, and a transaction there runs without another session's statement in between).
describe('pruning the delivery outbox on PostgreSQL, with other sessions at work', () => {
  const outbox = outboxOf(readModelDialects('outbox_prune_pg_spec').find(([name]) => name === 'PostgreSQL')![1]);
  let db: SqlDb;
  beforeEach(() => (db = outbox()));

  it('gives the same outcome when two instances prune at once', async () => {
    const [a, b] = await Promise.all([pruneOutbox(db, day(40), RETENTION, 1), pruneOutbox(db, day(40), RETENTION, 1)]);
    expect(a.rows + b.rows).toBe(4);
    expect([a.through, b.through]).toEqual([3, 3]);
    expect(await rows(db)).toHaveLength(6);
  });

  it('does not delete a delivery asked to be sent again while a batch is being pruned', async () => {
    const webhooks = new WebhooksService(undefined as never, db, new ManualClock(day(40)), { jwtSecret: 'j'.repeat(40), delivery: {} } as DocketConfig, undefined as never);
    let asked: Promise<unknown> | undefined;
    interleave(db, /status = 'pending' OR created_at/, () => {
      asked = webhooks.redeliver('webhook', 'A', deliveryId('webhook', 'A', LOG[1].id)).catch((e: unknown) => e);
    });
    expect(await pruneOutbox(db, day(40), RETENTION)).toEqual({ rows: 4, through: 3 });
    // The redelivery waited for the batch, and found the delivery pruned: a 404, not a row deleted while pending.
    expect(await asked).toBeInstanceOf(DomainError);
    expect(await asked).toMatchObject({ code: 'DELIVERY_NOT_FOUND' });
    expect((await rows(db))[0]).toBe('#4 email delivered');
  });

  it('does not let a re-projection queue a reminder again while its deliveries are being pruned', async () => {
    const other = new PostgresDb(PG_URL, (db as PostgresDb).schema);
    let projected: Promise<unknown> | undefined;
    try {
      interleave(db, /^DELETE FROM delivery_outbox/, () => {
        // A rebuild elsewhere re-projects the reminders whose rows this batch has just deleted.
        projected = projectBatch(other, new DefinitionCache(), LOG.slice(0, 3));
      });
      expect(await pruneOutbox(db, day(40), RETENTION)).toEqual({ rows: 4, through: 3 });
      await projected;
      expect((await rows(db))[0]).toBe('#4 email delivered');
    } finally {
      await other.close();
    }
  });
});
