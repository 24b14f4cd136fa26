import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../app.factory';
import { loadConfig } from '../config/config';
import { ManualClock } from '../common/clock';
import { JwtCodec } from '../auth/jwt';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { Projector } from '../projections/projector';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { Bench, BenchContext, Figure, now, percentile, timings } from './bench-kit';
import { campaignHistory } from './seed';

const REPO = resolve(__dirname, '../..');

/** Issue 4's figure: the overdue list of a district with thousands of campaigns, from the read models. */
export const readModelsBench: Bench = {
  name: 'read models',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const campaigns = ctx.quick ? 400 : 2000;
    const units = 120;
    const dir = mkdtempSync(join(tmpdir(), 'docket-bench-rm-'));
    const secret = 'bench-secret-bench-secret-bench-secret!';
    const config = loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: secret, DOCKET_LOG_LEVEL: 'error', DOCKET_SQLITE_SYNCHRONOUS: 'NORMAL' }, REPO);
    const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: 'NORMAL' });
    const repo = new CampaignRepository(store, config);
    const def = loadWorkflowsDir(config.workflowsDir).find((w) => w.id === 'three-searches')!;
    const clock = new ManualClock('2013-09-01T00:00:00Z');
    let events = 0;
    const seedStart = now();
    for (let c = 0; c < campaigns; c++) {
      // Launches spread over a year: the early ones are past their deadlines.
      const at = new Date(Date.parse('2013-01-01T00:00:00Z') + c * (365 * 86400_000) / campaigns);
      const history = campaignHistory({ campaignId: `c-${c + 1}`, workflow: def, units, stages: c % 3 === 0 ? 1 : 0, lastStageShare: (c % 10) / 10 }, at);
      await repo.append(`c-${c + 1}`, null, history, { actor: { sub: 'bench', role: 'bureau' }, now: at, correlationId: 'bench' });
      repo.forget(`c-${c + 1}`);
      events += history.length;
    }
    ctx.log(`seeded ${campaigns} campaigns × ${units} units: ${events} events in ${((now() - seedStart) / 1000).toFixed(1)} s`);

    clock.set('2014-01-01T00:00:00Z');
    const projectStart = now();
    const app: NestFastifyApplication = await createApp({ config, clock, store });
    const projector = app.get(Projector);
    const head = store.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number };
    while (projector.position < head.p) await new Promise((r) => setTimeout(r, 20));
    const projectMs = now() - projectStart;
    ctx.log(`projected ${events} events in ${(projectMs / 1000).toFixed(1)} s`);

    const token = new JwtCodec(secret).mint({ sub: 'bench', role: 'bureau' });
    const fastify = app.getHttpAdapter().getInstance();
    const get = async () => {
      const r = await fastify.inject({ method: 'GET', url: '/api/campaigns?overdue=true&limit=50', headers: { authorization: `Bearer ${token}` } });
      if (r.statusCode !== 200) throw new Error(`list answered ${r.statusCode}: ${r.body}`);
      return r;
    };
    const first = (await get()).json();
    await timings(20, get);
    const http = await timings(ctx.quick ? 100 : 300, get);
    // Floor: the same two SQL statements straight on the read-model database, no HTTP, auth or JSON.
    const db = projector.db;
    const nowIso = clock.now().toISOString();
    const sqlOnly = await timings(ctx.quick ? 100 : 300, async () => {
      await db.all("SELECT COUNT(*) AS n FROM rm_campaigns WHERE status = 'active' AND deadline IS NOT NULL AND deadline < ?", [nowIso]);
      await db.all("SELECT * FROM rm_campaigns WHERE status = 'active' AND deadline IS NOT NULL AND deadline < ? ORDER BY launched_at, id LIMIT 50 OFFSET 0", [nowIso]);
    });
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    const median = percentile(http, 50);
    const floor = percentile(sqlOnly, 50);
    return [
      {
        bench: 'read models',
        name: `GET /api/campaigns?overdue=true&limit=50, median (${campaigns} campaigns × ${units} units, ${first.total} overdue)`,
        value: median,
        unit: 'ms',
        floor: { name: 'the same SQL on the read-model db', value: floor },
        ratio: floor / median,
        target: { text: '< 50 ms', met: median < 50 },
      },
      { bench: 'read models', name: 'same request, p99', value: percentile(http, 99), unit: 'ms' },
      { bench: 'read models', name: `projection catch-up (${events} events from zero)`, value: events / (projectMs / 1000), unit: 'events/s' },
    ];
  },
};
