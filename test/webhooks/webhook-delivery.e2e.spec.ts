import { randomBytes } from 'node:crypto';
import { dropSchema, pgExec, PG_URL } from '../support/postgres';
import { ManualClock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/config';
import { createEventStore } from '../../src/event-store/event-store.factory';
import { EVENT_STORE, EventStore } from '../../src/event-store/event-store.port';
import { createReadModelDb } from '../../src/projections/read-model-db.factory';
import { READ_MODEL_DB } from '../../src/projections/projector';
import type { SqlDb } from '../../src/projections/sql-db';
import { rebuildReadModels } from '../../src/projections/rebuild';
import { deliveryId } from '../../src/webhooks/domain/webhooks';
import { OutboxPruner } from '../../src/webhooks/outbox-pruning';
import { Docket, removeDir, REPO_ROOT, startDocket, TEST_SECRET } from '../support/docket-harness';
import { at, dispatch, Receiver, reminderEvents, scanAndSettle, startReceiver, verifies, WORKFLOWS } from './webhook-support';

const SECRET = 'whsec_5f0c2a9e41b74d0c8e3f';
const BASE_MS = 1000;
const env = { DOCKET_WORKFLOWS_DIR: WORKFLOWS, DOCKET_WEBHOOK_INTERVAL_MS: '0', DOCKET_WEBHOOK_BACKOFF_MS: String(BASE_MS) };
const units = ['u1', 'u2', 'u3'].map((id) => ({ id, name: `单位${id}` }));

async function launch(d: Docket, id: string, deadline = at(0)) {
  const r = await d.call('POST', '/api/campaigns', { body: { id, workflow: 'reminder-drill', title: `催办演练 ${id}`, units, deadlines: { collect: deadline } } });
  expect(r.status).toBe(201);
}

async function register(d: Docket, url: string, secret = SECRET, extra: Record<string, unknown> = {}) {
  const r = await d.call('POST', '/api/webhooks', { body: { url, secret, description: '区教育局 OA', ...extra } });
  expect(r.status).toBe(201);
  return r.body as { id: string; url: string; createdAt: string };
}

const pending = async (d: Docket, hook: string) => (await d.call('GET', `/api/webhooks/${hook}/deliveries?status=pending&limit=500`)).body.items.length;

/**
 * Drives the dispatcher as time passes: a pass, then the clock moved past the longest wait
 * the backoff may have chosen for the attempt just made, until nothing is pending.
 */
async function deliverAll(d: Docket, clock: ManualClock, hook: string, maxRounds = 12) {
  for (let attempt = 1; attempt <= maxRounds; attempt++) {
    const pass = await dispatch(d);
    if ((await pending(d, hook)) === 0) return;
    if (pass.retrying > 0) {
      // The backoff holds: nothing is retried before its time.
      expect((await dispatch(d)).attempted).toBe(0);
    }
    clock.advance(BASE_MS * 2 ** (attempt - 1));
  }
  throw new Error('deliveries still pending');
}

describe('webhook delivery', () => {
  const clock = new ManualClock(at(-12));
  let docket: Docket;
  let receiver: Receiver;
  let hook: { id: string; url: string; createdAt: string };

  beforeAll(async () => {
    receiver = await startReceiver();
    docket = await startDocket({ clock, env });
    hook = await register(docket, receiver.url);
    await launch(docket, 'drill');
    const submitted = await docket.call('POST', '/api/campaigns/drill/submissions', { token: docket.unitToken('u1'), body: { unit: 'u1', deliverable: 'plan', title: 'u1 整改方案' } });
    expect(submitted.status).toBe(201);
  });
  afterAll(async () => {
    await docket.close();
    await receiver.close();
    removeDir(docket.dataDir);
  });

  it('delivers every reminder once a receiver that failed its first 3 attempts recovers, and each signature verifies', async () => {
    receiver.answer = (_r, previousForDelivery) => (previousForDelivery < 3 ? 500 : 200);
    for (const day of [-3, 0, 7]) {
      clock.set(at(day));
      await scanAndSettle(docket, 'drill');
      await deliverAll(docket, clock, hook.id);
    }

    const events = await reminderEvents(docket, 'drill');
    // before (u2, u3), due (u2, u3), overdue #3 and escalation (u2, u3): u1 had submitted.
    expect(events.map((e) => `${e.data.level} ${e.data.unit}`).sort()).toEqual(
      ['before u2', 'before u3', 'due u2', 'due u3', 'overdue u2', 'overdue u3', 'escalation u2', 'escalation u3'].sort(),
    );
    const byEvent = new Map<string, typeof receiver.requests>();
    for (const r of receiver.requests) {
      const id = JSON.parse(r.body).event.id as string;
      byEvent.set(id, [...(byEvent.get(id) ?? []), r]);
    }
    expect([...byEvent.keys()].sort()).toEqual(events.map((e) => e.id).sort());
    for (const e of events) {
      const got = byEvent.get(e.id)!;
      // Three refusals, then one acknowledged delivery: the same delivery id, body and event every time.
      expect(got.map((r) => r.answered)).toEqual([500, 500, 500, 200]);
      expect(got.map((r) => r.headers['x-docket-attempt'])).toEqual(['1', '2', '3', '4']);
      expect(new Set(got.map((r) => r.headers['x-docket-delivery']))).toEqual(new Set([deliveryId('webhook', hook.id, e.id)]));
      expect(new Set(got.map((r) => r.body)).size).toBe(1);
      for (const r of got) {
        expect(verifies(SECRET, r)).toBe(true);
        expect(verifies(SECRET + 'x', r)).toBe(false);
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.headers['x-docket-event']).toBe(e.type);
        expect(r.headers['x-docket-webhook']).toBe(hook.id);
        expect(Number(r.headers['x-docket-timestamp'])).toBeGreaterThan(Date.parse(at(-4)) / 1000);
        expect(JSON.parse(r.body).deliveryId).toBe(r.headers['x-docket-delivery']);
      }
    }

    const first = JSON.parse(byEvent.get(events[0].id)![0].body);
    expect(first.event).toMatchObject({
      id: events[0].id,
      type: 'ReminderIssued',
      campaign: 'drill',
      campaignTitle: '催办演练 drill',
      stage: 'collect',
      level: 'before',
      occurrence: 1,
      deadline: at(0),
      deadlineLocal: '2013-10-10 08:00 (Asia/Shanghai)',
      late: false,
      deliverables: [{ id: 'plan', status: 'missing', title: { zh: '整改方案', en: 'Rectification plan' } }],
      message: { zh: '请于 2013-10-10 08:00 前提交整改方案。', en: 'Please submit Rectification plan by 2013-10-10 08:00.' },
    });
    const escalation = events.find((e) => e.type === 'ReminderEscalated')!;
    expect(JSON.parse(byEvent.get(escalation.id)![0].body).event.message.zh).toContain('已报领导小组');

    const list = await docket.call('GET', `/api/webhooks/${hook.id}/deliveries?limit=500`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(events.length);
    for (const item of list.body.items) expect(item).toMatchObject({ channel: 'webhook', status: 'delivered', attempts: 4, lastStatus: 200, lastError: null });
  });

  it('never shows the secret, and the log holds it only sealed', async () => {
    const list = await docket.call('GET', '/api/webhooks');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([{ id: hook.id, url: receiver.url, description: '区教育局 OA', events: null, createdAt: at(-12), createdBy: 'bureau-office' }]);
    const one = await docket.call('GET', `/api/webhooks/${hook.id}`);
    expect(one.raw).not.toContain(SECRET);
    expect(list.raw).not.toMatch(/secret/i);
    const log = await (docket.app.get(EVENT_STORE) as EventStore).readStream('webhooks');
    expect(log.map((e) => e.type)).toEqual(['WebhookRegistered']);
    expect(JSON.stringify(log)).not.toContain(SECRET);
    expect(log[0].data.secret).toMatchObject({ v: 1, alg: 'A256GCM' });
  });

  it('sends nothing of what came before a registration, and nothing more after a removal', async () => {
    const second = await startReceiver();
    const reminders = async () => [...(await reminderEvents(docket, 'drill')), ...(await reminderEvents(docket, 'second'))];
    try {
      const late = await register(docket, second.url, 'another-secret-0123456789', { events: ['ReminderIssued'] });
      expect((await docket.call('GET', `/api/webhooks/${late.id}/deliveries`)).body.items).toEqual([]);

      await launch(docket, 'second', at(10));
      const before = new Set((await reminders()).map((e) => e.id));
      clock.set(at(10));
      await scanAndSettle(docket, 'second');
      await scanAndSettle(docket, 'drill');
      // second: due for u1-u3; drill: overdue #5 for u2 and u3.
      const fresh = (await reminders()).filter((e) => !before.has(e.id));
      expect(fresh.map((e) => `${e.data.campaignId} ${e.data.level} ${e.data.unit}`).sort()).toEqual(
        ['drill overdue u2', 'drill overdue u3', 'second due u1', 'second due u2', 'second due u3'],
      );
      const lateDeliveries = (await docket.call('GET', `/api/webhooks/${late.id}/deliveries`)).body.items;
      expect(lateDeliveries.map((i: any) => i.event.id).sort()).toEqual(fresh.map((e) => e.id).sort());

      expect((await docket.call('DELETE', `/api/webhooks/${late.id}`)).status).toBe(204);
      receiver.answer = () => 200;
      await deliverAll(docket, clock, hook.id);
      expect(second.requests).toEqual([]);
      const cancelled = (await docket.call('GET', `/api/webhooks/${late.id}/deliveries`)).body.items;
      expect(cancelled.map((i: any) => i.status)).toEqual(Array(fresh.length).fill('cancelled'));
      expect((await docket.call('GET', '/api/webhooks')).body.items.map((w: any) => w.id)).toEqual([hook.id]);
      expect((await docket.call('GET', `/api/webhooks/${late.id}`)).body.removedAt).toBe(at(10));
      const again = await docket.call('DELETE', `/api/webhooks/${late.id}`);
      expect(again.status).toBe(404);
      expect(again.body.code).toBe('WEBHOOK_NOT_FOUND');
      for (const e of fresh) expect(receiver.requests.filter((r) => JSON.parse(r.body).event.id === e.id).map((r) => r.answered)).toEqual([200]);
    } finally {
      await second.close();
    }
  });
});

describe('webhook delivery giving up', () => {
  it('marks a delivery failed after DOCKET_WEBHOOK_MAX_ATTEMPTS, shows why, and sends it again on request', async () => {
    const clock = new ManualClock(at(-12));
    const receiver = await startReceiver();
    const docket = await startDocket({ clock, env: { ...env, DOCKET_WEBHOOK_MAX_ATTEMPTS: '3' } });
    try {
      receiver.answer = () => 503;
      const hook = await register(docket, receiver.url);
      await launch(docket, 'drill');
      clock.set(at(-3));
      await scanAndSettle(docket, 'drill');
      for (let attempt = 1; attempt <= 3; attempt++) {
        await dispatch(docket);
        clock.advance(BASE_MS * 2 ** (attempt - 1));
      }
      expect(await dispatch(docket)).toMatchObject({ attempted: 0 });
      const failed = (await docket.call('GET', `/api/webhooks/${hook.id}/deliveries?status=failed`)).body.items;
      expect(failed).toHaveLength(3);
      expect(failed[0]).toMatchObject({ status: 'failed', attempts: 3, lastStatus: 503, lastError: 'HTTP 503', nextAttemptAt: null });
      expect(receiver.requests).toHaveLength(9);

      receiver.answer = () => 200;
      const again = await docket.call('POST', `/api/webhooks/${hook.id}/deliveries/${failed[0].deliveryId}/redeliver`);
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ deliveryId: failed[0].deliveryId, status: 'pending', attempts: 0 });
      expect(await dispatch(docket)).toMatchObject({ attempted: 1, delivered: 1 });
      const last = receiver.requests[receiver.requests.length - 1];
      expect(last).toMatchObject({ answered: 200 });
      expect(last.headers['x-docket-delivery']).toBe(failed[0].deliveryId);
      const unknown = await docket.call('POST', `/api/webhooks/${hook.id}/deliveries/00000000-0000-5000-8000-000000000000/redeliver`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('DELIVERY_NOT_FOUND');
    } finally {
      await docket.close();
      await receiver.close();
      removeDir(docket.dataDir);
    }
  });
});

describe('delivery records past DOCKET_OUTBOX_RETENTION_DAYS', () => {
  it('are pruned once settled, leave the lists, and are not sent again after `docket projections rebuild`', async () => {
    const clock = new ManualClock(at(-12));
    const receiver = await startReceiver();
    const docket = await startDocket({ clock, env: { ...env, DOCKET_OUTBOX_RETENTION_DAYS: '30' } });
    const dataDir = docket.dataDir;
    let closed = false;
    try {
      const hook = await register(docket, receiver.url);
      await launch(docket, 'drill');
      clock.set(at(-3));
      await scanAndSettle(docket, 'drill');
      // Three webhook deliveries; the three e-mails are skipped (no SMTP).
      expect(await dispatch(docket)).toMatchObject({ delivered: 3, skipped: 3 });
      const sent = (await docket.call('GET', `/api/webhooks/${hook.id}/deliveries`)).body.items;
      expect(sent.map((d: { status: string }) => d.status)).toEqual(['delivered', 'delivered', 'delivered']);
      const pruner = docket.app.get(OutboxPruner);
      clock.set(at(26)); // 29 days after the reminders: kept
      expect(await pruner.pruneOnce()).toMatchObject({ rows: 0 });
      clock.set(at(28));
      const pruned = await pruner.pruneOnce();
      expect(pruned.rows).toBe(6);
      expect((await docket.call('GET', `/api/webhooks/${hook.id}/deliveries`)).body.items).toEqual([]);
      expect((await docket.call('GET', '/api/mail/deliveries')).body.items).toEqual([]);
      const gone = await docket.call('POST', `/api/webhooks/${hook.id}/deliveries/${sent[0].deliveryId}/redeliver`);
      expect(gone.status).toBe(404);
      expect(gone.body.code).toBe('DELIVERY_NOT_FOUND');
      expect((await docket.call('GET', '/metrics', { token: null })).raw).toMatch(/^docket_outbox_pruned_total 6$/m);
      // The reminders themselves stay in the log.
      expect(await reminderEvents(docket, 'drill')).toHaveLength(3);
      await docket.close();
      closed = true;

      const config = loadConfig({ DOCKET_DATA_DIR: dataDir, DOCKET_JWT_SECRET: TEST_SECRET, DOCKET_WORKFLOWS_DIR: WORKFLOWS }, REPO_ROOT);
      const store = createEventStore(config, () => undefined);
      const db = createReadModelDb(config);
      await rebuildReadModels(store, db);
      expect(await db.all('SELECT delivery_id FROM delivery_outbox')).toEqual([]);
      await db.close();
      await store.close();
      const again = await startDocket({ clock, env, dataDir });
      try {
        expect(await dispatch(again)).toMatchObject({ attempted: 0, skipped: 0 });
        expect(receiver.requests).toHaveLength(3);
      } finally {
        await again.close();
      }
    } finally {
      if (!closed) await docket.close();
      await receiver.close();
      removeDir(dataDir);
    }
  });
});

describe('delivery records with DOCKET_OUTBOX_RETENTION_DAYS=0', () => {
  it('are kept however old they are', async () => {
    const clock = new ManualClock(at(-12));
    const receiver = await startReceiver();
    const docket = await startDocket({ clock, env: { ...env, DOCKET_OUTBOX_RETENTION_DAYS: '0' } });
    try {
      const hook = await register(docket, receiver.url);
      await launch(docket, 'drill');
      clock.set(at(-3));
      await scanAndSettle(docket, 'drill');
      expect(await dispatch(docket)).toMatchObject({ delivered: 3 });
      clock.set(at(3650));
      expect(await docket.app.get(OutboxPruner).pruneOnce()).toEqual({ rows: 0, through: 0 });
      expect((await docket.call('GET', `/api/webhooks/${hook.id}/deliveries`)).body.items).toHaveLength(3);
    } finally {
      await docket.close();
      await receiver.close();
      removeDir(docket.dataDir);
    }
  });
});

describe('the outbox across crashes, rebuilds and instances', () => {
  const clock = new ManualClock(at(-12));
  let receiver: Receiver;
  let dataDir: string;
  let hookId: string;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    if (dataDir) removeDir(dataDir);
  });

  it('keeps a delivery not yet sent across a restart, and sends it after', async () => {
    const a = await startDocket({ clock, env });
    dataDir = a.dataDir;
    hookId = (await register(a, receiver.url)).id;
    await launch(a, 'drill');
    clock.set(at(-3));
    await scanAndSettle(a, 'drill');
    expect(await pending(a, hookId)).toBe(3);
    // One delivery was claimed by an instance that died while sending it (its claim is still on the row).
    const db: SqlDb = a.app.get(READ_MODEL_DB);
    const [claimed] = await db.all<{ delivery_id: string }>(`SELECT delivery_id FROM delivery_outbox WHERE channel = 'webhook' ORDER BY delivery_id LIMIT 1`);
    await db.run('UPDATE delivery_outbox SET claimed_until = ? WHERE delivery_id = ?', [new Date(clock.now().getTime() + 70_000).toISOString(), claimed.delivery_id]);
    await a.close(); // the service stops before any delivery went out

    const b = await startDocket({ clock, env, dataDir });
    try {
      expect(await pending(b, hookId)).toBe(3);
      expect(await dispatch(b)).toMatchObject({ delivered: 2 });
      // The dead instance's claim runs out, and its delivery goes out after all.
      clock.advance(70_001);
      expect(await dispatch(b)).toMatchObject({ delivered: 1 });
      expect(receiver.requests[2].headers['x-docket-delivery']).toBe(claimed.delivery_id);
      const events = await reminderEvents(b, 'drill');
      expect(receiver.requests.map((r) => r.headers['x-docket-delivery']).sort()).toEqual(events.map((e) => deliveryId('webhook', hookId, e.id)).sort());
      expect(receiver.requests.every((r) => verifies(SECRET, r))).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('sends nothing again after `docket projections rebuild`', async () => {
    const config = loadConfig({ DOCKET_DATA_DIR: dataDir, DOCKET_JWT_SECRET: TEST_SECRET, DOCKET_WORKFLOWS_DIR: WORKFLOWS }, REPO_ROOT);
    const store = createEventStore(config, () => undefined);
    const db = createReadModelDb(config);
    const before = await db.all<{ delivery_id: string; status: string }>('SELECT delivery_id, status FROM delivery_outbox ORDER BY delivery_id');
    const result = await rebuildReadModels(store, db);
    expect(result.events).toBeGreaterThan(0);
    expect(await db.all('SELECT delivery_id, status FROM delivery_outbox ORDER BY delivery_id')).toEqual(before);
    expect((await db.all<{ n: number }>('SELECT COUNT(*) AS n FROM rm_webhooks'))[0].n).toBe(1);
    await db.close();
    await store.close();

    const c = await startDocket({ clock, env, dataDir });
    try {
      const sent = receiver.requests.length;
      expect(await dispatch(c)).toMatchObject({ attempted: 0 });
      expect(receiver.requests).toHaveLength(sent);
    } finally {
      await c.close();
    }
  });

  it('sends each delivery once when two instances dispatch at the same time', async () => {
    const a = await startDocket({ clock, env, dataDir });
    const b = await startDocket({ clock, env, dataDir });
    try {
      const sent = receiver.requests.length;
      clock.set(at(0));
      await scanAndSettle(a, 'drill');
      await scanAndSettle(b, 'drill');
      const [ra, rb] = await Promise.all([dispatch(a), dispatch(b)]);
      expect(ra.delivered + rb.delivered).toBe(3);
      const fresh = receiver.requests.slice(sent);
      expect(fresh).toHaveLength(3);
      expect(new Set(fresh.map((r) => r.headers['x-docket-delivery'])).size).toBe(3);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('webhook delivery on PostgreSQL with two instances', () => {
  const schema = `docket_hooks_${randomBytes(4).toString('hex')}`;
  const pgEnv = { ...env, DOCKET_STORE: 'postgres', DATABASE_URL: PG_URL, DOCKET_PG_SCHEMA: schema };
  const clock = new ManualClock(at(-12));
  let a: Docket;
  let b: Docket;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    // Created up front: the store and the read models of a first start on an empty schema both create it, and may race.
    await pgExec(`CREATE SCHEMA "${schema}"`);
    a = await startDocket({ clock, env: pgEnv });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await receiver.close();
    await dropSchema(schema);
    removeDir(a.dataDir);
  });

  it('delivers every reminder to a receiver that failed its first 3 attempts, each attempt made by one instance only', async () => {
    receiver.answer = (_r, previousForDelivery) => (previousForDelivery < 3 ? 500 : 200);
    const hook = await register(a, receiver.url);
    await launch(a, 'drill');
    b = await startDocket({ clock, env: pgEnv, dataDir: a.dataDir });
    clock.set(at(-3));
    await scanAndSettle(a, 'drill');
    await scanAndSettle(b, 'drill');
    for (let attempt = 1; attempt <= 6 && (await pending(a, hook.id)) > 0; attempt++) {
      await Promise.all([dispatch(a), dispatch(b)]);
      clock.advance(BASE_MS * 2 ** (attempt - 1));
    }
    expect(await pending(a, hook.id)).toBe(0);
    const events = await reminderEvents(a, 'drill');
    expect(events).toHaveLength(3);
    for (const e of events) {
      const got = receiver.requests.filter((r) => r.headers['x-docket-delivery'] === deliveryId('webhook', hook.id, e.id));
      expect(got.map((r) => `${r.headers['x-docket-attempt']}:${r.answered}`)).toEqual(['1:500', '2:500', '3:500', '4:200']);
      expect(got.every((r) => verifies(SECRET, r))).toBe(true);
    }
  });
});
