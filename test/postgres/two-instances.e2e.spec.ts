import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir } from '../support/docket-harness';
import { JwtCodec } from '../../src/auth/jwt';
import { cliToken, httpClient, ServiceProcess, startService } from '../support/service-process';

import { dropSchema, PG_URL } from '../support/postgres';

/**
 * Two Docket processes on one PostgreSQL serve the same campaign: concurrent commands
 * through both land exactly once, and racing transitions resolve to exactly one.
 */
describe('two service instances on one PostgreSQL', () => {
  const schema = `docket_two_${randomBytes(4).toString('hex')}`;
  const secret = randomBytes(24).toString('hex');
  let a: ServiceProcess;
  let b: ServiceProcess;
  let dataDir: string;
  let bureau: string;
  const apiA = httpClient(() => a.url);
  const apiB = httpClient(() => b.url);
  const units = Array.from({ length: 120 }, (_, i) => ({ id: `school-${i + 1}`, name: `学校${i + 1}` }));

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'docket-two-'));
    const env = { DOCKET_STORE: 'postgres', DATABASE_URL: PG_URL, DOCKET_PG_SCHEMA: schema, DOCKET_JWT_SECRET: secret, DOCKET_DATA_DIR: dataDir };
    [a, b] = await Promise.all([startService(env), startService(env)]);
    bureau = cliToken({ DOCKET_JWT_SECRET: secret }, '--role', 'bureau', '--sub', 'office');
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dropSchema(schema);
    removeDir(dataDir);
  });

  it('lands 120 concurrent submissions from different units exactly once', async () => {
    expect((await apiA('POST', '/api/campaigns', bureau, { id: 'shared', workflow: 'three-searches', title: 't', units })).status).toBe(201);
    const replies = await Promise.all(
      units.map((u, i) =>
        (i % 2 ? apiA : apiB)('POST', '/api/campaigns/shared/submissions', cliUnit(u.id), { unit: u.id, deliverable: 'problem-list', title: `${u.id} 清单` }),
      ),
    );
    expect(replies.filter((r) => r.status !== 201).map((r) => r.text)).toEqual([]);
    const revisions = replies.map((r) => r.json.revision).sort((x, y) => x - y);
    expect(revisions).toEqual(units.map((_, i) => i + 1));
    for (const api of [apiA, apiB]) {
      const view = (await api('GET', '/api/campaigns/shared', bureau)).json;
      expect(view.revision).toBe(120);
      expect(view.units.every((u: any) => u.deliverables['problem-list'].status === 'submitted' && u.deliverables['problem-list'].version === 1)).toBe(true);
    }
    const history = (await apiB('GET', '/api/campaigns/shared/history?limit=1000', bureau)).json.events;
    const submittedUnits = history.filter((e: any) => e.type === 'DeliverableSubmitted').map((e: any) => e.data.unit);
    expect(submittedUnits).toHaveLength(120);
    expect(new Set(submittedUnits).size).toBe(120);
  });

  it('lets exactly one of 200 concurrent transitions with the same If-Match win; the rest get 409/412, none 5xx', async () => {
    const revision = (await apiA('GET', '/api/campaigns/shared', bureau)).json.revision;
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? apiA : apiB)('POST', '/api/campaigns/shared/transitions', bureau, { event: 'ADVANCE' }, { 'if-match': `"${revision}"` }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200 && s !== 409 && s !== 412)).toEqual([]);
    for (const r of replies.filter((x) => x.status !== 200)) expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const view = (await apiB('GET', '/api/campaigns/shared', bureau)).json;
    expect(view.stage).toBe('rectification');
    expect(view.revision).toBe(revision + 1);
    expect((await apiA('GET', '/api/campaigns/shared/verify', bureau)).json.ok).toBe(true);
  });

  const cliUnit = (unit: string) => new JwtCodec(secret).mint({ sub: `${unit}-sec`, role: 'unit', unit });
});
