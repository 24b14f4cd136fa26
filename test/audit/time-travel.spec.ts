import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { docketCli } from './audit-support';

/**
 * Time travel on a long campaign: 5,000 events (launch, 50 problem lists, ADVANCE, then
 * rectification plans submitted and returned for rework, over and over), each command over
 * HTTP followed by a GET. state?revision=N must answer exactly what that GET answered, for every N.
 */
describe('time travel through a campaign of 5,000 events', () => {
  const CAMPAIGN = 'long-rectification-2013';
  const EVENTS = 5000;
  const units = Array.from({ length: 50 }, (_, i) => ({ id: `school-${i + 1}`, name: `第${i + 1}中学` }));
  let docket: Docket;
  /** GET /api/campaigns/:id right after each revision, as text. */
  const seen: string[] = [];
  /** The clock at each revision, for ?at= checks. */
  const times: string[] = [];

  const record = async () => {
    const r = await docket.call('GET', `/api/campaigns/${CAMPAIGN}`);
    expect(r.status).toBe(200);
    seen[r.body.revision] = r.raw;
    times[r.body.revision] = docket.clock.now().toISOString();
    return r.body.revision as number;
  };
  const command = async (method: 'POST', url: string, body: unknown, token?: string) => {
    docket.clock.advance(60_000);
    const r = await docket.call(method, url, { body, token });
    if (r.status >= 300) throw new Error(`${url}: ${r.status} ${r.raw}`);
    return record();
  };

  beforeAll(async () => {
    docket = await startDocket();
    await command('POST', '/api/campaigns', { id: CAMPAIGN, workflow: 'three-searches', title: '整改落实专项活动', units });
    for (const u of units) {
      await command('POST', `/api/campaigns/${CAMPAIGN}/submissions`, { unit: u.id, deliverable: 'problem-list', title: '查找问题清单' }, docket.unitToken(u.id));
    }
    await command('POST', `/api/campaigns/${CAMPAIGN}/transitions`, { event: 'ADVANCE' });
    let revision = seen.length - 1;
    for (let round = 0; revision < EVENTS - 1; round++) {
      const u = units[round % units.length];
      revision = await command('POST', `/api/campaigns/${CAMPAIGN}/submissions`, { unit: u.id, deliverable: 'rectification-plan', title: `整改方案 第${Math.floor(round / units.length) + 1}稿` }, docket.unitToken(u.id));
      if (revision < EVENTS - 1) {
        revision = await command('POST', `/api/campaigns/${CAMPAIGN}/reviews`, { unit: u.id, deliverable: 'rectification-plan', decision: 'returned', comment: '措施不够具体' });
      }
    }
  }, 120_000);

  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  it('holds exactly 5,000 events, every one seen by a GET right after it', () => {
    expect(seen).toHaveLength(EVENTS);
    expect(seen.every((s) => typeof s === 'string')).toBe(true);
  });

  it('answers state?revision=N exactly as GET answered right after revision N, for every N', async () => {
    const differing: number[] = [];
    for (let n = 0; n < EVENTS; n++) {
      const r = await docket.call('GET', `/api/campaigns/${CAMPAIGN}/state?revision=${n}`, { token: docket.auditor });
      if (r.status !== 200 || r.raw !== seen[n]) differing.push(n);
    }
    expect(differing).toEqual([]);
    // Each answer folds the log up to N: about 2 minutes in all here unless replays start from snapshots (src/audit/replay-snapshots.ts).
  }, 600_000);

  it('answers state?at=T with the campaign as it was at that instant', async () => {
    for (const n of [0, 1, 50, 51, 52, 2500, EVENTS - 1]) {
      const r = await docket.call('GET', `/api/campaigns/${CAMPAIGN}/state?at=${times[n]}`, { token: docket.auditor });
      expect(r.status).toBe(200);
      expect(r.body).toEqual(JSON.parse(seen[n]));
    }
  });

  it('replays the same states offline with `docket replay`, by revision and by instant', async () => {
    for (const n of [0, 52, 4321, EVENTS - 1]) {
      const byRevision = await docketCli(['replay', CAMPAIGN, '--revision', String(n), '--json'], { DOCKET_DATA_DIR: docket.dataDir });
      expect(byRevision.status).toBe(0);
      expect(byRevision.json.campaign).toEqual(JSON.parse(seen[n]));
      expect(byRevision.json.chain).toMatchObject({ ok: true, events: n + 1, findings: [] });
    }
    const byInstant = await docketCli(['replay', CAMPAIGN, '--at', times[2500], '--json'], { DOCKET_DATA_DIR: docket.dataDir });
    expect(byInstant.json.campaign).toEqual(JSON.parse(seen[2500]));
    // who had submitted what: every unit's problem list in learning, and its plan in rectification
    const rows = byInstant.json.deliverables;
    expect(rows.filter((d: any) => d.stage === 'learning')).toHaveLength(units.length);
    expect(rows.filter((d: any) => d.stage === 'learning').every((d: any) => d.status === 'submitted' && d.version === 1)).toBe(true);
    expect(rows.find((d: any) => d.stage === 'rectification' && d.unit === 'school-1')).toMatchObject({ status: expect.stringMatching(/^(submitted|returned)$/), version: expect.any(Number) });
  });

  it('verifies the whole campaign in the CLI and the API', async () => {
    const cli = await docketCli(['verify', CAMPAIGN, '--json'], { DOCKET_DATA_DIR: docket.dataDir });
    expect(cli.status).toBe(0);
    expect(cli.json.checks[0].checked).toEqual({ streams: 1, events: EVENTS });
    const api = await docket.call('GET', `/api/audit/verify`, { token: docket.auditor });
    expect(api.body).toMatchObject({ ok: true, findings: [] });
  });
});
