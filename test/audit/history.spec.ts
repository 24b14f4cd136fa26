import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { runSmallCampaign } from './audit-support';

/** GET /api/campaigns/:id/history: what an auditor pages through, filtered by type, actor and time. */
describe('campaign history for auditors', () => {
  const ID = 'history-2013';
  let docket: Docket;
  let all: any[];
  const history = async (query = '') => {
    const r = await docket.call('GET', `/api/campaigns/${ID}/history${query ? `?${query}` : ''}`, { token: docket.auditor });
    expect(r.status).toBe(200);
    return r.body;
  };

  beforeAll(async () => {
    docket = await startDocket();
    await runSmallCampaign(docket, ID, 4);
    all = (await history()).events;
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  it('lists every event with actor, time, revision and hashes, and says there is no next page', async () => {
    const h = await history();
    expect(h).toMatchObject({ campaign: ID, revision: 13, fromRevision: 0, limit: 1000, total: 14, next: null, filters: {} });
    expect(h.events.map((e: any) => e.revision)).toEqual([...Array(14).keys()]);
    expect(h.events[0]).toEqual({
      revision: 0,
      id: expect.any(String),
      type: 'CampaignLaunched',
      actor: { sub: 'bureau-office', role: 'bureau' },
      occurredAt: expect.stringMatching(/^2013-/),
      correlationId: expect.any(String),
      prevHash: '0'.repeat(64),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      data: expect.objectContaining({ campaignId: ID }),
    });
  });

  it('pages with fromRevision and limit, telling the total and where the next page starts', async () => {
    const first = await history('limit=5');
    expect(first).toMatchObject({ total: 14, next: 5 });
    expect(first.events.map((e: any) => e.revision)).toEqual([0, 1, 2, 3, 4]);
    const last = await history('fromRevision=10&limit=5');
    expect(last).toMatchObject({ total: 14, next: null });
    expect(last.events.map((e: any) => e.revision)).toEqual([10, 11, 12, 13]);
  });

  it('keeps only the event types asked for, counting all matches in the total', async () => {
    const h = await history('type=DeliverableReviewed,StageAdvanced&limit=3');
    expect(h.filters).toEqual({ type: ['DeliverableReviewed', 'StageAdvanced'] });
    expect(h.total).toBe(5);
    expect(h.events.map((e: any) => e.type)).toEqual(['StageAdvanced', 'DeliverableReviewed', 'DeliverableReviewed']);
    const rest = await history(`type=DeliverableReviewed,StageAdvanced&limit=3&fromRevision=${h.next}`);
    expect(rest).toMatchObject({ total: 5, next: null });
    expect(rest.events.map((e: any) => e.revision)).toEqual([12, 13]);
  });

  it('keeps only one actor\'s events', async () => {
    const h = await history('actor=branch-2-secretary');
    expect(h.total).toBe(2);
    expect(h.events.map((e: any) => [e.type, e.data.deliverable])).toEqual([
      ['DeliverableSubmitted', 'problem-list'],
      ['DeliverableSubmitted', 'rectification-plan'],
    ]);
    expect((await history('actor=nobody')).events).toEqual([]);
  });

  it('keeps only events in a time range, both ends included', async () => {
    const from = all[3].occurredAt;
    const to = all[6].occurredAt;
    const h = await history(`from=${from}&to=${to}`);
    expect(h.events.map((e: any) => e.revision)).toEqual([3, 4, 5, 6]);
    expect(h).toMatchObject({ total: 4, next: null, filters: { from, to } });
    const combined = await history(`from=${all[5].occurredAt}&type=DeliverableSubmitted&actor=branch-4-secretary`);
    expect(combined.events.map((e: any) => e.revision)).toEqual([9]);
  });

  it('refuses bad filters with 400 problem+json', async () => {
    for (const q of ['type=Bad Type', 'type=', 'from=yesterday', `from=${all[6].occurredAt}&to=${all[3].occurredAt}`, 'actor=', 'to=2013-13-45']) {
      const r = await docket.call('GET', `/api/campaigns/${ID}/history?${q}`, { token: docket.auditor });
      expect([q, r.status]).toEqual([q, 400]);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('is for the bureau and auditors only', async () => {
    const r = await docket.call('GET', `/api/campaigns/${ID}/history?type=StageAdvanced`, { token: docket.unitToken('branch-1') });
    expect(r.status).toBe(403);
  });
});
