import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Docket, REPO_ROOT, removeDir, startDocket } from '../support/docket-harness';
import { ManualClock } from '../../src/common/clock';
import { EVENT_STORE, EventStore } from '../../src/event-store/event-store.port';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store';
import { Projector } from '../../src/projections/projector';
import { ReminderScheduler } from '../../src/reminders/reminder-scheduler';
import { verifyChain } from '../../src/audit/domain/hash-chain';

const WORKFLOWS = join(REPO_ROOT, 'test/fixtures/workflows');
const DAY = 86_400_000;
const L = Date.parse('2013-10-01T00:00:00.000Z');
const at = (days: number) => new Date(L + days * DAY).toISOString();

/**
 * The due index (which campaigns a scan visits) is a cache of the log: what an instance issues
 * must not depend on it. An instance whose index has seen the campaign before and one deciding
 * it afresh (new read models, a rebuild) issue the same reminders, and two schedulers racing
 * over one log issue each reminder once, keep the reminder chains whole and count each
 * reminder once between them.
 */
describe('the reminder due index', () => {
  const dirs: string[] = [];
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });
  afterAll(() => dirs.forEach(removeDir));

  /** A second service on the same log with read models of its own, caught up. */
  async function secondInstance(a: Docket, clock: ManualClock, env: Record<string, string>, writerThread = false) {
    const store = new SqliteEventStore({ filename: join(a.dataDir, 'docket.sqlite'), synchronous: 'NORMAL', writerThread });
    const dataDir = mkdtempSync(join(tmpdir(), 'docket-second-'));
    dirs.push(dataDir);
    open.push(store);
    const b = await startDocket({ clock, env, store, dataDir });
    open.push(b);
    const all = await store.readAll({ maxCount: 1_000_000 });
    await b.app.get(Projector).waitFor(all[all.length - 1].position, 10_000);
    return { b, store };
  }
  const reminders = async (d: Docket, campaign: string) =>
    (await (d.app.get(EVENT_STORE) as EventStore).readStream(`reminders-${campaign}`)).map((e) => `${e.data.level}#${e.data.occurrence} ${e.data.unit}`);

  it('visits a campaign that changed after its schedule ran out: a plan returned after the last reminder is reminded at once, as a fresh instance would', async () => {
    const clock = new ManualClock(at(0));
    const env = { DOCKET_WORKFLOWS_DIR: WORKFLOWS };
    const a = await startDocket({ clock, env });
    open.push(a);
    dirs.push(a.dataDir);
    const units = [{ id: 'u1', name: 'u1' }, { id: 'u2', name: 'u2' }];
    expect((await a.call('POST', '/api/campaigns', { body: { id: 'c1', workflow: 'remind-once', title: 'c1', units } })).status).toBe(201);
    for (const u of ['u1', 'u2']) expect((await a.call('POST', '/api/campaigns/c1/submissions', { body: { unit: u, deliverable: 'plan', title: 'p' } })).status).toBe(201);
    const scheduler = a.app.get(ReminderScheduler);

    clock.set(at(17)); // the deadline is day 10, the escalation day 17: the schedule's last point
    expect(await scheduler.scan()).toMatchObject({ issued: 0, ignored: [{ campaign: 'c1', reason: 'every unit has submitted' }] });
    clock.set(at(17.5));
    expect((await a.call('POST', '/api/campaigns/c1/reviews', { body: { unit: 'u1', deliverable: 'plan', decision: 'returned', comment: 'redo' } })).status).toBe(201);
    clock.set(at(18));
    expect(await scheduler.scan()).toMatchObject({ candidates: 1, issued: 2 });
    expect(await reminders(a, 'c1')).toEqual(['due#1 u1', 'escalation#1 u1']);
    clock.set(at(40));
    expect(await scheduler.scan()).toMatchObject({ candidates: 0, issued: 0 });

    // The same log decided afresh by an instance with new read models: nothing more to issue.
    const { b } = await secondInstance(a, clock, env);
    expect(await b.app.get(ReminderScheduler).scan()).toMatchObject({ candidates: 1, issued: 0 });
    expect(await reminders(a, 'c1')).toEqual(['due#1 u1', 'escalation#1 u1']);
  });

  it('two schedulers racing over one log issue every reminder once, keep each chain whole and count each reminder once', async () => {
    const clock = new ManualClock(at(0));
    const env = { DOCKET_WORKFLOWS_DIR: WORKFLOWS, DOCKET_SQLITE_WRITER_THREAD: 'true' };
    const a = await startDocket({ clock, env });
    open.push(a);
    dirs.push(a.dataDir);
    const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const units = Array.from({ length: 5 }, (_, u) => ({ id: `u${u}`, name: `u${u}` }));
    for (const id of ids) expect((await a.call('POST', '/api/campaigns', { body: { id, workflow: 'reminder-drill', title: id, units } })).status).toBe(201);
    const { b } = await secondInstance(a, clock, env, true);
    const schedulers = [a.app.get(ReminderScheduler), b.app.get(ReminderScheduler)];
    let counted = 0;
    for (const day of [7, 10, 12, 12.5, 14, 17, 18, 30]) {
      clock.set(at(day));
      // Submissions through one instance that the other's read models may not have yet.
      if (day === 12) for (const id of ids.slice(0, 10)) expect((await a.call('POST', `/api/campaigns/${id}/submissions`, { body: { unit: 'u1', deliverable: 'plan', title: 'p' } })).status).toBe(201);
      for (const r of await Promise.all(schedulers.map((s) => s.scan()))) counted += r.issued;
    }
    const store: EventStore = a.app.get(EVENT_STORE);
    let total = 0;
    for (const id of ids) {
      const events = await store.readStream(`reminders-${id}`);
      total += events.length;
      expect(verifyChain(events)).toMatchObject({ ok: true });
      const keys = events.map((e) => `${e.data.level}#${e.data.occurrence} ${e.data.unit}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(total).toBeGreaterThan(0);
    expect(counted).toBe(total);
  });
});
