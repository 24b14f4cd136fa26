import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { Projector } from '../../src/projections/projector';
import { checkReadModels } from '../../src/projections/consistency-check';
import { EVENT_STORE } from '../../src/event-store/event-store.port';

/** Lists, the deliverable matrix, unit inboxes and live updates, answered from the read models. */
describe('read models over HTTP', () => {
  let docket: Docket;
  const units = [
    { id: 'school-1', name: '一中' },
    { id: 'school-2', name: '二中' },
    { id: 'school-3', name: '三中' },
  ];

  beforeAll(async () => {
    docket = await startDocket();
    const launch = (id: string, us = units, deadlines?: Record<string, string>) =>
      docket.call('POST', '/api/campaigns', { body: { id, workflow: 'three-searches', title: id, units: us, deadlines } });
    expect((await launch('early', units, { learning: '2013-09-01T00:00:00Z' })).status).toBe(201);
    expect((await launch('late', units, { learning: '2014-09-01T00:00:00Z' })).status).toBe(201);
    expect((await launch('other', [units[0]])).status).toBe(201);
    for (const u of ['school-1', 'school-2']) {
      const r = await docket.call('POST', '/api/campaigns/early/submissions', { token: docket.unitToken(u), body: { unit: u, deliverable: 'problem-list', title: 'x' } });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  it('lists overdue campaigns once their deadline has passed, with a total', async () => {
    docket.clock.set('2013-10-01T00:00:00Z');
    const r = await docket.call('GET', '/api/campaigns?overdue=true&limit=50');
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(1);
    expect(r.body.items.map((i: any) => i.id)).toEqual(['early']);
    expect(r.body.items[0]).toMatchObject({ overdue: true, deliverables: { owed: 3, done: 2 }, deadline: '2013-09-01T00:00:00.000Z' });
    const notOverdue = await docket.call('GET', '/api/campaigns?overdue=false');
    expect(notOverdue.body.items.map((i: any) => i.id).sort()).toEqual(['late', 'other']);
  });

  it('filters by unit and pages with limit and offset', async () => {
    const r = await docket.call('GET', '/api/campaigns?unit=school-3');
    expect(r.body.items.map((i: any) => i.id).sort()).toEqual(['early', 'late']);
    const page = await docket.call('GET', '/api/campaigns?limit=1&offset=1');
    expect(page.body).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(page.body.items).toHaveLength(1);
  });

  it('shows the deliverable matrix of the current stage', async () => {
    const r = await docket.call('GET', '/api/campaigns/early/matrix');
    expect(r.status).toBe(200);
    expect(r.body.stage).toBe('learning');
    expect(r.body.units.map((u: any) => [u.id, u.deliverables['problem-list'].status])).toEqual([
      ['school-1', 'submitted'],
      ['school-2', 'submitted'],
      ['school-3', 'missing'],
    ]);
    const own = await docket.call('GET', '/api/campaigns/early/matrix', { token: docket.unitToken('school-3') });
    expect(own.body.units.map((u: any) => u.id)).toEqual(['school-3']);
  });

  it('answers a stage the workflow has but the campaign has not reached with an empty matrix, and one it lacks with 422 UNKNOWN_STAGE', async () => {
    const ahead = await docket.call('GET', '/api/campaigns/early/matrix?stage=rectification');
    expect([ahead.status, ahead.body.stage, ahead.body.units]).toEqual([200, 'rectification', []]);
    const unknown = await docket.call('GET', '/api/campaigns/early/matrix?stage=zzz');
    expect([unknown.status, unknown.body.code, unknown.body.stage]).toEqual([422, 'UNKNOWN_STAGE', 'zzz']);
  });

  it("gives each unit an inbox of what it still owes, most urgent first", async () => {
    const r = await docket.call('GET', '/api/inbox', { token: docket.unitToken('school-3') });
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: any) => [i.campaign, i.deliverable, i.status, i.overdue])).toEqual([
      ['early', 'problem-list', 'missing', true],
      ['late', 'problem-list', 'missing', false],
    ]);
    const other = await docket.call('GET', '/api/inbox?unit=school-1', { token: docket.unitToken('school-3') });
    expect(other.status).toBe(403);
    const bureau = await docket.call('GET', '/api/inbox?unit=school-1');
    expect(bureau.body.items.map((i: any) => i.campaign).sort()).toEqual(['late', 'other']);
  });

  it('pushes every new event of a campaign over Server-Sent Events', async () => {
    await docket.app.listen({ port: 0, host: '127.0.0.1' });
    const url = await docket.app.getUrl();
    const controller = new AbortController();
    const res = await fetch(`${url}/api/campaigns/late/stream`, { headers: { authorization: `Bearer ${docket.bureau}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const received: any[] = [];
    const reading = (async () => {
      let buf = '';
      while (received.length < 2) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += Buffer.from(value).toString();
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = chunk.split('\n').find((l) => l.startsWith('data:'));
          if (data) received.push(JSON.parse(data.slice(5)));
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    for (const u of ['school-1', 'school-2']) {
      await docket.call('POST', '/api/campaigns/late/submissions', { token: docket.unitToken(u), body: { unit: u, deliverable: 'problem-list', title: 'x' } });
    }
    await Promise.race([reading, new Promise((r) => setTimeout(r, 5000))]);
    controller.abort();
    expect(received.map((e) => [e.type, e.revision, e.data.unit])).toEqual([
      ['DeliverableSubmitted', 1, 'school-1'],
      ['DeliverableSubmitted', 2, 'school-2'],
    ]);
  });

  it('keeps its read models equal to the pure replay of the log', async () => {
    const projector = docket.app.get(Projector);
    const store = docket.app.get(EVENT_STORE);
    const [last] = await store.readAll({ afterPosition: 0, maxCount: 1_000_000 }).then((all: { position: number }[]) => all.slice(-1));
    await projector.waitFor(last.position);
    const report = await checkReadModels(store, projector.db);
    expect(report.differences).toEqual([]);
  });
});
