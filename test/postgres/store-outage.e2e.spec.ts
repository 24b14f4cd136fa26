import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir } from '../support/docket-harness';
import { PrivatePostgres, startPrivatePostgres } from '../support/private-postgres';
import { cliToken, httpClient, ServiceProcess, startService } from '../support/service-process';

/**
 * PostgreSQL goes away under a running service: commands answer 503 problem+json with
 * Retry-After, /health says the store is down, and once the database is back the
 * service recovers by itself with every acknowledged command still there.
 */
describe('a PostgreSQL outage', () => {
  let pg: PrivatePostgres;
  let svc: ServiceProcess;
  let dataDir: string;
  let bureau: string;
  const api = httpClient(() => svc.url);

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    dataDir = mkdtempSync(join(tmpdir(), 'docket-outage-'));
    svc = await startService({ DOCKET_STORE: 'postgres', DATABASE_URL: pg.url, DOCKET_DATA_DIR: dataDir, DOCKET_LOG_LEVEL: 'error' });
    bureau = cliToken({ DOCKET_DATA_DIR: dataDir }, '--role', 'bureau', '--sub', 'office');
  });
  afterAll(async () => {
    await svc?.stop();
    pg?.destroy();
    removeDir(dataDir);
  });

  it('answers 503 with Retry-After while the store is down and recovers by itself, losing nothing acknowledged', async () => {
    const units = Array.from({ length: 10 }, (_, i) => ({ id: `school-${i}`, name: `学校${i}` }));
    expect((await api('POST', '/api/campaigns', bureau, { id: 'outage', workflow: 'three-searches', title: 't', units })).status).toBe(201);
    const acked: string[] = [];
    for (const u of units.slice(0, 5)) {
      const r = await api('POST', '/api/campaigns/outage/submissions', bureau, { unit: u.id, deliverable: 'problem-list', title: 'x' });
      expect(r.status).toBe(201);
      acked.push(u.id);
    }
    expect((await api('GET', '/health', null)).status).toBe(200);

    pg.stop('immediate');

    const during = await api('POST', '/api/campaigns/outage/submissions', bureau, { unit: 'school-5', deliverable: 'problem-list', title: 'x' });
    expect(during.status).toBe(503);
    expect(during.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(during.json.code).toBe('STORE_UNAVAILABLE');
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThan(0);
    const read = await api('GET', '/api/campaigns/outage', bureau);
    expect(read.status).toBe(503);
    const health = await api('GET', '/health', null);
    expect(health.status).toBe(503);
    expect(health.json.store.status).toBe('down');

    pg.start();

    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = (await api('GET', '/health', null)).status === 200;
      if (!recovered) await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered).toBe(true);
    for (const u of units.slice(5)) {
      const r = await api('POST', '/api/campaigns/outage/submissions', bureau, { unit: u.id, deliverable: 'problem-list', title: 'x' });
      expect(r.status).toBe(201);
      acked.push(u.id);
    }
    const after = await api('GET', '/api/campaigns/outage', bureau);
    const submitted = after.json.units.filter((u: any) => u.deliverables['problem-list'].status === 'submitted').map((u: any) => u.id);
    expect(submitted.sort()).toEqual([...acked].sort());
    expect(after.json.revision).toBe(10);
    expect((await api('GET', '/api/campaigns/outage/verify', bureau)).json.ok).toBe(true);
  });

  it('starts while PostgreSQL is down, reports it, and connects once it is up', async () => {
    await svc.stop();
    pg.stop('fast');
    svc = await startService({ DOCKET_STORE: 'postgres', DATABASE_URL: pg.url, DOCKET_DATA_DIR: dataDir, DOCKET_LOG_LEVEL: 'error' });
    expect((await api('GET', '/health', null)).status).toBe(503);
    pg.start();
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = (await api('GET', '/health', null)).status === 200;
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    expect(up).toBe(true);
    const view = await api('GET', '/api/campaigns/outage', bureau);
    expect(view.status).toBe(200);
    expect(view.json.revision).toBe(10);
  });
});
