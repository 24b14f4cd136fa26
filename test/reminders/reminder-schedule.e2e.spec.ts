import { join } from 'node:path';
import { Docket, REPO_ROOT, removeDir, startDocket } from '../support/docket-harness';
import { ManualClock } from '../../src/common/clock';
import { ReminderScheduler } from '../../src/reminders/reminder-scheduler';
import { EVENT_STORE, EventStore } from '../../src/event-store/event-store.port';

const WORKFLOWS = join(REPO_ROOT, 'test/fixtures/workflows');
const DAY = 86_400_000;
const D = Date.parse('2013-10-10T00:00:00.000Z');
const at = (days: number) => new Date(D + days * DAY).toISOString();

/**
 * A campaign walked with a controllable clock through deadline −3 days, the deadline,
 * +2, +4 and +7 days (escalation), with a restart in the middle and a second instance
 * scanning the same log: every reminder is issued exactly once, only to late units.
 */
describe('reminders on a controllable clock', () => {
  const clock = new ManualClock(at(-12));
  let a: Docket;
  let b: Docket;
  const env = { DOCKET_WORKFLOWS_DIR: WORKFLOWS };
  const units = ['u1', 'u2', 'u3', 'u4'].map((id) => ({ id, name: id }));

  const scanBoth = async () => {
    await a.app.get(ReminderScheduler).scan();
    return b.app.get(ReminderScheduler).scan();
  };
  const reminders = async (d: Docket, campaign: string) => {
    const store: EventStore = d.app.get(EVENT_STORE);
    return (await store.readStream(`reminders-${campaign}`)).map((e) => ({ type: e.type, unit: e.data.unit, level: e.data.level, occurrence: e.data.occurrence, late: e.data.late }));
  };
  const submit = (unit: string, campaign = 'drill') =>
    a.call('POST', `/api/campaigns/${campaign}/submissions`, { token: a.unitToken(unit), body: { unit, deliverable: 'plan', title: `${unit} plan` } });

  beforeAll(async () => {
    a = await startDocket({ clock, env });
    b = await startDocket({ clock, env, dataDir: a.dataDir });
    for (const id of ['drill', 'moot']) {
      const r = await a.call('POST', '/api/campaigns', { body: { id, workflow: 'reminder-drill', title: id, units, deadlines: { collect: at(0) } } });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    removeDir(a.dataDir);
  });

  it('issues exactly the expected reminders through −3d, 0, +2, +4, +7, across a restart and two instances', async () => {
    expect((await submit('u1')).status).toBe(201);
    expect((await submit('u1', 'moot')).status).toBe(201);

    clock.set(at(-3));
    await scanBoth();
    clock.set(at(-2));
    expect((await submit('u2')).status).toBe(201);
    clock.set(at(0));
    await scanBoth();
    clock.set(at(0.5));
    expect((await submit('u4')).status).toBe(201);
    clock.set(at(1));
    expect((await a.call('POST', '/api/campaigns/drill/reviews', { body: { unit: 'u4', deliverable: 'plan', decision: 'returned', comment: '不具体' } })).status).toBe(201);
    clock.set(at(2));
    await scanBoth();

    // Restart instance a on the same data dir, mid-walk.
    const dataDir = a.dataDir;
    await a.close();
    a = await startDocket({ clock, env, dataDir });
    clock.set(at(4));
    await scanBoth();
    await scanBoth(); // a repeated scan at the same instant issues nothing more
    clock.set(at(7));
    await scanBoth();

    const got = await reminders(a, 'drill');
    const key = (r: { unit: string; level: string; occurrence: number; late: boolean }) => `${r.level}#${r.occurrence} ${r.unit}${r.late ? ' late' : ''}`;
    expect(got.map(key).sort()).toEqual(
      [
        'before#1 u2',
        'before#1 u3',
        'before#1 u4',
        'due#1 u3',
        'due#1 u4',
        'overdue#1 u3',
        'overdue#1 u4',
        'overdue#2 u3',
        'overdue#2 u4',
        'overdue#3 u3 late',
        'overdue#3 u4 late',
        'escalation#1 u3',
        'escalation#1 u4',
      ].sort(),
    );
    expect(got.filter((r) => r.level === 'escalation').every((r) => r.type === 'ReminderEscalated')).toBe(true);
  });

  it('after downtime issues each reminder that fell due once, marked late, not a burst of repeats', async () => {
    // A campaign nobody scanned until a week after its deadline (the service was down).
    const fresh = await a.call('POST', '/api/campaigns', { body: { id: 'asleep', workflow: 'reminder-drill', title: 'asleep', units, deadlines: { collect: at(0) } } });
    expect(fresh.status).toBe(201);
    clock.set(at(7));
    await a.app.get(ReminderScheduler).scan();
    const asleep = await reminders(a, 'asleep');
    expect(asleep.map((r) => `${r.level}#${r.occurrence} ${r.unit} ${r.late}`).sort()).toEqual(
      ['u1', 'u2', 'u3', 'u4'].flatMap((u) => [`escalation#1 ${u} false`, `overdue#3 ${u} true`]).sort(),
    );
  });

  it('ignores reminders that became moot, with a reason', async () => {
    for (const u of ['u2', 'u3', 'u4']) expect((await submit(u, 'moot')).status).toBe(201);
    const before = (await reminders(a, 'moot')).length;
    clock.set(at(9));
    const result = await a.app.get(ReminderScheduler).scan();
    expect(result.ignored).toEqual(expect.arrayContaining([{ campaign: 'moot', reason: 'every unit has submitted' }]));
    expect((await reminders(a, 'moot')).length).toBe(before);
  });

  it('lists reminders in the inbox, a unit seeing only its own', async () => {
    const all = await a.call('GET', '/api/reminders?campaign=drill&limit=1000');
    expect(all.status).toBe(200);
    // The walk's 13, plus what later scans (the +9 day one) added for the still-late units.
    expect(all.body.items).toHaveLength((await reminders(a, 'drill')).length);
    expect(all.body.items[0]).toMatchObject({ campaign: 'drill', level: 'before', deadlineLocal: '2013-10-10 08:00 (Asia/Shanghai)' });
    expect(all.body.items[0].message.zh).toContain('整改方案');
    const own = await a.call('GET', '/api/reminders?campaign=drill', { token: a.unitToken('u3') });
    expect(own.body.items.map((i: any) => i.unit)).toEqual(Array(own.body.items.length).fill('u3'));
    expect(own.body.items.map((i: any) => `${i.level}#${i.occurrence}`).slice(0, 6)).toEqual(['before#1', 'due#1', 'overdue#1', 'overdue#2', 'overdue#3', 'escalation#1']);
    expect((await a.call('GET', '/api/reminders?unit=u4', { token: a.unitToken('u3') })).status).toBe(403);
  });

  it('follows a deadline the bureau moved, with its reason in the history', async () => {
    clock.set(at(-1));
    expect((await a.call('POST', '/api/campaigns', { body: { id: 'moved', workflow: 'reminder-drill', title: 'moved', units, deadlines: { collect: at(0) } } })).status).toBe(201);
    const moved = await a.call('POST', '/api/campaigns/moved/deadlines', { body: { stage: 'collect', deadline: at(10), reason: '领导小组会议决定延期' } });
    expect(moved.status).toBe(201);
    expect(moved.body).toMatchObject({ stage: 'collect', from: at(0), deadline: at(10) });
    expect((await a.call('GET', '/api/campaigns/moved')).body.deadline).toBe(at(10));
    clock.set(at(2));
    await a.app.get(ReminderScheduler).scan();
    expect(await reminders(a, 'moved')).toEqual([]);
    clock.set(at(8));
    await a.app.get(ReminderScheduler).scan();
    expect((await reminders(a, 'moved')).map((r) => r.level)).toEqual(['before', 'before', 'before', 'before']);
    const history = await a.call('GET', '/api/campaigns/moved/history', { token: a.auditor });
    expect(history.body.events.find((e: any) => e.type === 'DeadlineChanged').data).toMatchObject({ from: at(0), to: at(10), reason: '领导小组会议决定延期' });
    const refused = await a.call('POST', '/api/campaigns/moved/deadlines', { body: { stage: 'collect', deadline: 'soon', reason: 'x' } });
    expect(refused.status).toBe(400);
  });
});
