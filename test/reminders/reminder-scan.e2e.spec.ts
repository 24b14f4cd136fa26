import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Docket, REPO_ROOT, removeDir, startDocket } from '../support/docket-harness';
import { ManualClock } from '../../src/common/clock';
import { EVENT_STORE, EventStore } from '../../src/event-store/event-store.port';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store';
import { Projector, READ_MODEL_DB } from '../../src/projections/projector';
import type { SqlDb } from '../../src/projections/sql-db';
import { ReminderScheduler } from '../../src/reminders/reminder-scheduler';

const WORKFLOWS = join(REPO_ROOT, 'test/fixtures/workflows');
const DAY = 86_400_000;
const D = Date.parse('2013-10-10T00:00:00.000Z');
const at = (days: number) => new Date(D + days * DAY).toISOString();
const env = { DOCKET_WORKFLOWS_DIR: WORKFLOWS };

const remindedUnits = async (d: Docket, campaign: string) => {
  const store: EventStore = d.app.get(EVENT_STORE);
  return (await store.readStream(`reminders-${campaign}`)).map((e) => `${e.data.level}#${e.data.occurrence} ${e.data.unit}`);
};

import { dropSchema, pgExec, PG_URL } from '../support/postgres';
const pgSchema = `docket_remind_${randomBytes(4).toString('hex')}`;

/**
 * A scan after downtime, when every campaign is due at once: the campaigns are visited a
 * slice at a time (their appends share one commit, their due-index rows one statement),
 * which must change nothing of what each one is told. On SQLite, and on PostgreSQL for
 * both the log and the read models.
 */
describe.each([
  ['SQLite', {}],
  ['PostgreSQL', { DOCKET_STORE: 'postgres', DATABASE_URL: PG_URL, DOCKET_PG_SCHEMA: pgSchema }],
])('a scan with many campaigns due at once (%s)', (_, storeEnv: Record<string, string>) => {
  const clock = new ManualClock(at(-12));
  let a: Docket;
  const campaigns = Array.from({ length: 70 }, (_, i) => `c${i + 1}`);

  beforeAll(async () => {
    // Created up front: the store and the read models would otherwise both create it at start, and race.
    if (storeEnv.DOCKET_PG_SCHEMA) await pgExec(`CREATE SCHEMA IF NOT EXISTS "${storeEnv.DOCKET_PG_SCHEMA}"`);
    a = await startDocket({ clock, env: { ...env, ...storeEnv } });
    for (const [i, id] of campaigns.entries()) {
      const units = Array.from({ length: 1 + (i % 4) }, (_, u) => ({ id: `u${u + 1}`, name: `u${u + 1}` }));
      expect((await a.call('POST', '/api/campaigns', { body: { id, workflow: 'reminder-drill', title: id, units, deadlines: { collect: at(0) } } })).status).toBe(201);
      // The first unit of every third campaign has submitted.
      if (i % 3 === 0) {
        expect((await a.call('POST', `/api/campaigns/${id}/submissions`, { body: { unit: 'u1', deliverable: 'plan', title: 'plan' } })).status).toBe(201);
      }
    }
  });
  afterAll(async () => {
    await a.close();
    removeDir(a.dataDir);
    if (storeEnv.DOCKET_PG_SCHEMA) await dropSchema(storeEnv.DOCKET_PG_SCHEMA);
  });

  it('tells every late unit of every campaign once, schedules each campaign, and then has nothing left to do', async () => {
    clock.set(at(1));
    const scheduler = a.app.get(ReminderScheduler);
    const first = await scheduler.scan();
    expect(first.candidates).toBe(campaigns.length);
    // Campaigns of 1 to 4 units, less the first unit of every third campaign, which submitted.
    const expected = campaigns.map((id, i) => {
      const units = Array.from({ length: 1 + (i % 4) }, (_, u) => `u${u + 1}`).filter((u) => !(i % 3 === 0 && u === 'u1'));
      return { id, reminders: units.map((u) => `due#1 ${u}`) };
    });
    expect(first.issued).toBe(expected.reduce((n, e) => n + e.reminders.length, 0));
    expect(first.ignored).toEqual(expected.filter((e) => e.reminders.length === 0).map((e) => ({ campaign: e.id, reason: 'every unit has submitted' })));
    for (const e of expected) expect(await remindedUnits(a, e.id)).toEqual(e.reminders);

    // The due index now holds every campaign's next point (overdue #1 at +2 days): nothing to look at before it.
    const again = await scheduler.scan();
    expect(again).toEqual({ candidates: 0, issued: 0, ignored: [] });
    const inbox = await a.call('GET', '/api/reminders?limit=1000');
    expect(inbox.body.items).toHaveLength(first.issued);
  });

  it('passes over a campaign whose reminders cannot be decided, reminds the ones after it, and tries it again next time', async () => {
    clock.set(at(2.5)); // overdue #1 (+2 days) has fallen due everywhere
    const scheduler = a.app.get(ReminderScheduler);
    const visit = (scheduler as unknown as { visit: (c: { id: string }, now: Date) => Promise<unknown> }).visit;
    const spy = jest.spyOn(scheduler as unknown as { visit: typeof visit }, 'visit').mockImplementation(function (this: unknown, c, now) {
      if (c.id === 'c2') return Promise.reject(new Error('a campaign that cannot be decided'));
      return visit.call(this, c, now);
    });
    let scan;
    try {
      scan = await scheduler.scan();
    } finally {
      spy.mockRestore();
    }
    expect(scan.failed).toEqual([{ campaign: 'c2', error: 'a campaign that cannot be decided' }]);
    // c70 is in the second slice of 64: the failure in the first did not stop the scan.
    expect(await remindedUnits(a, 'c70')).toContain('overdue#1 u2'); // its u1 submitted
    expect(await remindedUnits(a, 'c2')).not.toContain('overdue#1 u1');
    const again = await scheduler.scan();
    expect(again).toMatchObject({ candidates: 1, issued: 2 });
    expect(again.failed).toBeUndefined();
    expect(await remindedUnits(a, 'c2')).toEqual(['due#1 u1', 'due#1 u2', 'overdue#1 u1', 'overdue#1 u2']);
  });
});

/**
 * Two instances on one log, the second with read models of its own that have not yet
 * seen a submission the first just took: the reminder is decided on the log, not on them.
 */
describe('a scan on read models that lag behind another instance', () => {
  const clock = new ManualClock(at(-12));
  let a: Docket;
  let b: Docket;
  let bStore: SqliteEventStore;
  const units = ['u1', 'u2', 'u3'].map((id) => ({ id, name: id }));

  beforeAll(async () => {
    a = await startDocket({ clock, env });
    expect((await a.call('POST', '/api/campaigns', { body: { id: 'lagging', workflow: 'reminder-drill', title: 'lagging', units, deadlines: { collect: at(0) } } })).status).toBe(201);
    // b shares a's log but keeps its read models apart, and looks for other processes' writes only once an hour.
    bStore = new SqliteEventStore({ filename: join(a.dataDir, 'docket.sqlite'), synchronous: 'NORMAL', pollIntervalMs: 3_600_000 });
    b = await startDocket({ clock, env, store: bStore, dataDir: mkdtempSync(join(tmpdir(), 'docket-test-')) });
    const head = await bStore.streamRevision('campaign-lagging');
    expect(head).toBe(0);
    await b.app.get(Projector).waitFor(1, 5000);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await bStore.close();
    removeDir(a.dataDir);
    removeDir(b.dataDir);
  });

  it('does not remind a unit that submitted through the other instance a moment ago', async () => {
    expect((await a.call('POST', '/api/campaigns/lagging/submissions', { body: { unit: 'u2', deliverable: 'plan', title: 'plan' } })).status).toBe(201);
    const bReadModels: SqlDb = b.app.get(READ_MODEL_DB);
    const cell = await bReadModels.all<{ status: string }>(`SELECT status FROM rm_deliverables WHERE campaign_id = 'lagging' AND unit_id = 'u2'`);
    expect(cell).toEqual([{ status: 'missing' }]); // b has not seen the submission

    clock.set(at(0));
    const result = await b.app.get(ReminderScheduler).scan();
    expect(result.issued).toBe(2);
    expect(await remindedUnits(a, 'lagging')).toEqual(['due#1 u1', 'due#1 u3']);
  });
});
