import { randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { Projector } from '../../src/projections/projector';
import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { dropSchema, pgExec, PG_URL } from '../support/postgres';

/**
 * The projection thread is opt-in with PostgreSQL (DOCKET_PROJECTION_THREAD=true): there it
 * opens its own pools to the log and the read models, and LISTEN/NOTIFY wakes it. A service
 * that turns it on reads its own writes through the lists, as on the service's thread.
 */
describe('the projection thread on PostgreSQL, when turned on', () => {
  const schema = `docket_pthread_${randomBytes(4).toString('hex')}`;
  let docket: Docket;

  beforeAll(async () => {
    await pgExec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    docket = await startDocket({ env: { DOCKET_STORE: 'postgres', DATABASE_URL: PG_URL, DOCKET_PG_SCHEMA: schema, DOCKET_PROJECTION_THREAD: 'true' } });
  });
  afterAll(async () => {
    if (docket) {
      await docket.close();
      removeDir(docket.dataDir);
    }
    await dropSchema(schema);
  });

  it('projects on its own thread what the service commits, and the lists show the service its writes', async () => {
    const projector = docket.app.get(Projector);
    expect(projector.threaded).toBe(true);
    expect((projector as unknown as { worker?: Worker }).worker).toBeDefined();
    const units = [
      { id: 'branch-1', name: '第一党支部' },
      { id: 'branch-2', name: '第二党支部' },
    ];
    expect((await docket.call('POST', '/api/campaigns', { body: { id: 'pg-thread', workflow: 'three-searches', title: '三查', units } })).status).toBe(201);
    for (const unit of units) {
      const r = await docket.call('POST', '/api/campaigns/pg-thread/submissions', { body: { unit: unit.id, deliverable: 'problem-list', title: `${unit.name}清单` } });
      expect(r.status).toBe(201);
    }
    const list = await docket.call('GET', '/api/campaigns?limit=10');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: 'pg-thread', revision: 2, deliverables: expect.objectContaining({ done: 2 }) })]);
    const health = await docket.call('GET', '/health', { token: null });
    expect(health.body.projections.position).toBeGreaterThanOrEqual(3);
  });
});
