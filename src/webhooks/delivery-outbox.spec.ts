import { loggedEvent, reminderEvent, webhookRegistered } from '../../test/support/outbox-log';
import { migratedReadModelDb, readModelDialects } from '../../test/support/read-model-dialects';
import { DefinitionCache } from '../projections/campaign-read-model';
import { migrateReadModels, projectBatch } from '../projections/projection';
import { SqlDb } from '../projections/sql-db';
import { WEBHOOK_READ_MODEL_TABLES } from './delivery-outbox';
import { DUE_PAGE_SQL } from './delivery-dispatcher';
import { deliveryId } from './domain/webhooks';

const event = loggedEvent;
const reminder = (position: number, unit: string, level: 'before' | 'escalation') => reminderEvent(position, unit, { level });
const registered = webhookRegistered;

/** A registers; a reminder; B registers for escalations only; a reminder and an escalation; A is removed; a last reminder. */
const LOG = [
  registered(1, 'A', null),
  reminder(2, 'u1', 'before'),
  registered(3, 'B', ['ReminderEscalated']),
  reminder(4, 'u2', 'before'),
  reminder(5, 'u1', 'escalation'),
  event(6, 'webhooks', 'WebhookRemoved', { id: 'A' }),
  reminder(7, 'u3', 'before'),
];
const idOf = (position: number) => LOG[position - 1].id;

async function outbox(db: SqlDb): Promise<string[]> {
  const rows = await db.all<{ delivery_id: string; channel: string; target: string; event_id: string; status: string }>(
    'SELECT delivery_id, channel, target, event_id, status FROM delivery_outbox ORDER BY event_position, channel, target',
  );
  return rows.map((r) => `${r.channel} ${r.target} #${LOG.findIndex((e) => e.id === r.event_id) + 1} ${r.status}${r.delivery_id === deliveryId(r.channel as 'webhook', r.target, r.event_id) ? '' : ' (id?)'}`);
}

const dialects = readModelDialects('outbox_spec');

describe.each(dialects)('the delivery outbox on %s', (_name, make) => {
  let db: SqlDb;
  migratedReadModelDb(make, (opened) => (db = opened));

  const expected = [
    'email unit:u1 #2 pending',
    'webhook A #2 cancelled',
    'email unit:u2 #4 pending',
    'webhook A #4 cancelled',
    'email leading-group #5 pending',
    'webhook A #5 cancelled',
    'webhook B #5 pending',
    'email unit:u3 #7 pending',
  ];

  it('holds one row per webhook active at the reminder (and wanting its type) and one e-mail, unchanged when each event comes twice', async () => {
    const defs = new DefinitionCache();
    for (const e of LOG) {
      await projectBatch(db, defs, [e]);
      const once = await outbox(db);
      await projectBatch(db, defs, [e]);
      expect(await outbox(db)).toEqual(once);
    }
    expect(await outbox(db)).toEqual(expected);
  });

  it('sends nothing again after a rebuild: delivered rows stay delivered and no row is added', async () => {
    await db.run(`UPDATE delivery_outbox SET status = 'delivered' WHERE delivery_id = ?`, [deliveryId('webhook', 'B', idOf(5))]);
    for (const t of WEBHOOK_READ_MODEL_TABLES) await db.run(`DROP TABLE IF EXISTS ${t}`);
    await migrateReadModels(db);
    await projectBatch(db, new DefinitionCache(), LOG);
    expect(await outbox(db)).toEqual(expected.map((r) => (r === 'webhook B #5 pending' ? 'webhook B #5 delivered' : r)));
  });

  it('lets one claimant win a row', async () => {
    const id = deliveryId('email', 'unit:u3', idOf(7));
    const claim = (until: string) =>
      db.all(`UPDATE delivery_outbox SET claimed_until = ? WHERE delivery_id = ? AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < ?) RETURNING delivery_id`, [
        until,
        id,
        '2013-10-07T00:00:00.000Z',
      ]);
    const [a, b] = await Promise.all([claim('2013-10-07T00:01:10.000Z'), claim('2013-10-07T00:01:11.000Z')]);
    expect([a.length, b.length].sort()).toEqual([0, 1]);
  });
});

describe('the dispatcher page on SQLite', () => {
  it('reads due deliveries in index order, without sorting every due row', async () => {
    const [, make] = readModelDialects('outbox_plan')[0];
    const { db } = await make();
    await migrateReadModels(db);
    const plan = await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${DUE_PAGE_SQL}`, ['2014', '2014', 100]);
    expect(plan.map((r) => r.detail).join(' | ')).toMatch(/USING INDEX delivery_outbox_due_order/);
    expect(plan.map((r) => r.detail).join(' | ')).not.toMatch(/TEMP B-TREE/);
    await db.close();
  });
});
