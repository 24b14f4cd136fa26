import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/config';
import { JwtCodec } from '../auth/jwt';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { CampaignRepository } from '../campaigns/campaign.repository';
import type { CampaignEvent } from '../campaigns/domain/campaign-events';
import { replay } from '../campaigns/domain/campaign-state';
import { definitionWeight, stateWeight, unitListWeight } from '../campaigns/state-weight';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { Bench, BenchContext, Figure, now } from './bench-kit';
import { campaignHistory } from './seed';
import { describeNodeOptions, rss, ServiceProcess, startProcess } from './service-process';

const REPO = resolve(__dirname, '../..');
const SECRET = 'bench-secret-bench-secret-bench-secret!';
const UNITS = 100;
const TARGET_MB = 250;
const MB = 1024 * 1024;

/** Campaigns appended in one turn of the event loop: the SQLite store commits them together (group commit). */
const SEED_BATCH = 100;

/**
 * Seeds `campaigns` campaigns × 100 units in the learning stage, 50–90 % of the units having submitted (about 70 events each).
 * `weights`: the estimated heap (state-weight.ts) of the first campaign of each of the five shapes, and of the parts they all share.
 */
async function seed(ctx: BenchContext, dir: string, campaigns: number): Promise<{ events: number; head: number; weights: { shapes: number[]; shared: number } }> {
  const config = loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: SECRET }, REPO);
  const def = loadWorkflowsDir(config.workflowsDir).find((w) => w.id === 'three-searches')!;
  const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: 'NORMAL' });
  const repo = new CampaignRepository(store, config);
  const t = now();
  const launchedAt = new Date();
  // Five history shapes, decided once (campaignHistory); each campaign gets its own launch event (id, title) and its own hash chain.
  const shapes: CampaignEvent[][] = [0.5, 0.6, 0.7, 0.8, 0.9].map((share) =>
    campaignHistory({ campaignId: 'template', workflow: def, units: UNITS, stages: 0, lastStageShare: share }, launchedAt),
  );
  let events = 0;
  const weights = { shapes: [] as number[], shared: 0 };
  const append = async (c: number) => {
    const id = `mem-${c + 1}`;
    const [launch, ...rest] = shapes[c % shapes.length];
    const history = [{ ...launch, data: { ...launch.data, campaignId: id, title: `${def.title.zh} ${c + 1}` } } as CampaignEvent, ...rest];
    const recorded = await repo.append(id, null, history, { actor: { sub: 'bench', role: 'bureau' }, now: launchedAt, correlationId: 'bench' });
    repo.forget(id);
    events += history.length;
    if (c < shapes.length) {
      const state = replay(recorded)!;
      weights.shapes[c] = stateWeight(state);
      if (c === 0) weights.shared = definitionWeight(state.definition) + unitListWeight(state.units);
    }
  };
  // The campaigns of a batch are appended in one turn, so each batch is one SQLite transaction (in campaign order).
  for (let c = 0; c < campaigns; c += SEED_BATCH) {
    await Promise.all(Array.from({ length: Math.min(SEED_BATCH, campaigns - c) }, (_, i) => append(c + i)));
  }
  const head = (store.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number }).p;
  await store.close();
  ctx.log(`seeded ${campaigns} campaigns × ${UNITS} units: ${events} events in ${((now() - t) / 1000).toFixed(1)} s`);
  return { events, head, weights };
}

/** How many of the first `campaigns` seeded campaigns the cache holds under both bounds (the shapes take turns). */
function statesCached(campaigns: number, bounds: { cacheCampaigns: number; cacheMb: number }, weights: { shapes: number[]; shared: number }): number {
  let bytes = weights.shared;
  let n = 0;
  while (n < Math.min(campaigns, bounds.cacheCampaigns)) {
    bytes += weights.shapes[n % weights.shapes.length];
    if (bytes > bounds.cacheMb * MB) break;
    n += 1;
  }
  return n;
}

/**
 * `node --env-file=node-options.env dist/main.js` on the data dir, as `npm start` runs it (system clock,
 * default cache and intervals unless the environment sets them).
 */
function start(dir: string): Promise<ServiceProcess> {
  return startProcess('main.js', {
    DOCKET_DATA_DIR: dir,
    DOCKET_JWT_SECRET: SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    DOCKET_LOG_LEVEL: 'warn',
    DOCKET_STORE: 'sqlite',
  });
}

function client(port: number, token: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  // GETs are retried when a kept-alive socket the service closed while idle (keep-alive timeout) is reused.
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(path);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (attempt >= 3 || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw e;
      }
    }
  };
  const once = (path: string) =>
    new Promise<{ status: number; body: any }>((done, fail) => {
      const req = request({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: any = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          done({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', fail);
      req.end();
    });
  return { get, close: () => agent.destroy() };
}

/** Waits until the service's read models have applied everything up to `head` (GET /health). */
async function caughtUp(get: (path: string) => Promise<{ status: number; body: any }>, s: ServiceProcess, head: number): Promise<void> {
  for (;;) {
    const h = await get('/health');
    if (h.status === 200 && h.body.projections?.position >= head) return;
    if (s.child.exitCode !== null) throw new Error('the service exited before its read models caught up');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Issue 8, item 7: the service's peak RSS with 10,000 campaigns (× 100 units) loaded. */
export const memoryBench: Bench = {
  name: 'memory',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const campaigns = ctx.quick ? 1000 : 10_000;
    const token = new JwtCodec(SECRET).mint({ sub: 'bench', role: 'bureau' });

    // A first service process starts on an empty data dir; the store is seeded from this process
    // while that service's read models follow it live (the SQLite file is shared, WAL), so seeding
    // and projection overlap on the 2 cores. Then it stops, and the measured service starts on the
    // seeded data dir with its read models current, as the service restarts in production.
    const dir = mkdtempSync(join(tmpdir(), 'docket-bench-mem-'));
    // The cache bounds the measured service runs with: the environment's, or the configuration's defaults.
    const bounds = loadConfig(
      { DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: SECRET, DOCKET_CACHE_CAMPAIGNS: process.env.DOCKET_CACHE_CAMPAIGNS, DOCKET_CACHE_MB: process.env.DOCKET_CACHE_MB },
      REPO,
    );
    const nodeOptions = describeNodeOptions();
    ctx.log(`service: ${nodeOptions}`);
    try {
      let empty: { now: number; peak: number };
      let ingest: { now: number; peak: number };
      let events: number;
      let head: number;
      let weights: { shapes: number[]; shared: number };
      let t = now();
      let ingestSeconds = 0;
      {
        const s = await start(dir);
        const http = client(s.port, token);
        try {
          await http.get('/health');
          await http.get('/api/campaigns?limit=50');
          await new Promise((r) => setTimeout(r, 500));
          empty = rss(s.child.pid!);
          ctx.log(`empty store: RSS ${(empty.now / MB).toFixed(0)} MB, peak ${(empty.peak / MB).toFixed(0)} MB`);
          t = now();
          ({ events, head, weights } = await seed(ctx, dir, campaigns));
          await caughtUp(http.get, s, head);
          ingest = rss(s.child.pid!);
          ingestSeconds = (now() - t) / 1000;
          ctx.log(`read models followed ${events} events live (seeding included) in ${((now() - t) / 1000).toFixed(1)} s: RSS ${(ingest.now / MB).toFixed(0)} MB, peak ${(ingest.peak / MB).toFixed(0)} MB`);
        } finally {
          http.close();
          await s.stop();
        }
      }
      t = now();
      const s = await start(dir);
      const http = client(s.port, token);
      try {
        await caughtUp(http.get, s, head);
        await http.get('/api/campaigns?limit=50');
        const started = rss(s.child.pid!);
        // What the repository's cache holds (states, estimated bytes): its gauges on /metrics.
        const cacheGauges = async () => {
          const text = String((await http.get('/metrics')).body);
          const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
          return { states: gauge('docket_campaign_cache_states'), bytes: gauge('docket_campaign_cache_bytes') };
        };
        // As many campaigns as the cache holds under both bounds, by the same estimate the service makes.
        const cached = statesCached(campaigns, bounds, weights);
        ctx.log(`restarted on the seeded store in ${((now() - t) / 1000).toFixed(1)} s: RSS ${(started.now / MB).toFixed(0)} MB, peak ${(started.peak / MB).toFixed(0)} MB`);

        // Load every campaign through HTTP (the repository caches each folded state), and page through the lists.
        t = now();
        let failed = 0;
        const ids: string[] = [];
        for (let offset = 0; ; offset += 500) {
          const page = await http.get(`/api/campaigns?limit=500&offset=${offset}`);
          if (page.status !== 200) throw new Error(`list answered ${page.status}`);
          const items: { id: string }[] = page.body.items;
          ids.push(...items.map((i) => i.id));
          if (items.length < 500) break;
        }
        if (ids.length !== campaigns) ctx.log(`WARNING: the list holds ${ids.length} campaigns, expected ${campaigns}`);
        const getAll = async (from: number, to: number) => {
          let next = from;
          await Promise.all(
            Array.from({ length: 16 }, async () => {
              while (next < to) {
                const i = next++;
                const r = await http.get(`/api/campaigns/mem-${i + 1}`);
                if (r.status !== 200 || r.body.revision === undefined) failed += 1;
              }
            }),
          );
        };
        // First as many campaigns as the cache holds (the growth per cached state), then the rest (LRU eviction from there on).
        await getAll(0, cached);
        const full = rss(s.child.pid!);
        const filled = await cacheGauges();
        await getAll(cached, campaigns);
        await http.get('/api/campaigns?overdue=true&limit=500');
        await http.get('/api/campaigns?status=active&limit=500');
        const loaded = rss(s.child.pid!);
        const kept = await cacheGauges();
        ctx.log(
          `GET of ${campaigns} campaigns (${failed} failed) and list pages in ${((now() - t) / 1000).toFixed(1)} s: RSS ${(loaded.now / MB).toFixed(0)} MB, peak ${(loaded.peak / MB).toFixed(0)} MB ` +
            `(RSS ${(full.now / MB).toFixed(0)} MB once ${filled.states} states were cached, ${(filled.bytes / MB).toFixed(1)} MB estimated; ${kept.states} cached at the end)`,
        );
        if (failed) throw new Error(`${failed} GET /api/campaigns/:id did not answer 200`);
        // The expectation weighs every campaign like the first of its shape; longer titles (more digits) make a few fewer fit.
        if (Math.abs(filled.states - cached) > cached / 100) ctx.log(`WARNING: the cache holds ${filled.states} states, about ${cached} expected`);

        const perCampaignKiB = (full.now - started.now) / filled.states / 1024;
        const env = (name: string) => (process.env[name] ? '' : ' (default)');
        const cacheText = `DOCKET_CACHE_CAMPAIGNS=${bounds.cacheCampaigns}${env('DOCKET_CACHE_CAMPAIGNS')}, DOCKET_CACHE_MB=${bounds.cacheMb}${env('DOCKET_CACHE_MB')}`;
        const what = `${campaigns.toLocaleString('en-US')} campaigns × ${UNITS} units (${Math.round(events / campaigns)} events each), all loaded through GET /api/campaigns/:id and the lists; node dist/main.js, SQLite, ${cacheText}, ${nodeOptions}`;
        const figures: Figure[] = [
          {
            bench: 'memory',
            name: `peak RSS (VmHWM) of the service from start-up through loading every campaign: ${what}`,
            value: loaded.peak / MB,
            unit: 'MB',
            ...(ctx.quick ? {} : { target: { text: `≤ ${TARGET_MB} MB`, met: loaded.peak / MB <= TARGET_MB } }),
          },
          { bench: 'memory', name: `RSS after restart on the seeded store, before loading (peak so far ${(started.peak / MB).toFixed(0)} MB)`, value: started.now / MB, unit: 'MB' },
          { bench: 'memory', name: `RSS with every campaign loaded (${kept.states.toLocaleString('en-US')} states cached, ${cacheText})`, value: loaded.now / MB, unit: 'MB' },
          { bench: 'memory', name: 'RSS growth per cached campaign (its folded state in the repository cache)', value: perCampaignKiB, unit: 'KiB' },
          {
            bench: 'memory',
            name: 'estimated heap per cached campaign (src/campaigns/state-weight.ts: what DOCKET_CACHE_MB counts; shared definition and units included)',
            value: filled.bytes / filled.states / 1024,
            unit: 'KiB',
          },
          {
            bench: 'memory',
            name: `campaign states that fit under ${TARGET_MB} MB at that cost, at rest (not the peak: V8 lets garbage grow between full collections)`,
            value: Math.max(0, ((TARGET_MB * MB - started.now) / 1024 / perCampaignKiB)),
            unit: 'campaigns',
          },
          { bench: 'memory', name: 'RSS of the service on an empty store', value: empty.now / MB, unit: 'MB' },
          {
            bench: 'memory',
            name: `peak RSS of the first service process while its read models followed the seeding live (${events.toLocaleString('en-US')} events at ${Math.round(events / ingestSeconds).toLocaleString('en-US')} events/s)`,
            value: ingest.peak / MB,
            unit: 'MB',
          },
        ];
        if (ctx.quick) {
          // Past the cache bounds more campaigns cost no more cached states.
          const extrapolated = Math.max(loaded.peak, loaded.now + (statesCached(10_000, bounds, weights) - kept.states) * perCampaignKiB * 1024) / MB;
          figures.push({
            bench: 'memory',
            name: `RSS with 10,000 campaigns, extrapolated from ${campaigns} (RSS loaded + growth per cached campaign up to ${cacheText})`,
            value: extrapolated,
            unit: 'MB',
            target: { text: `≤ ${TARGET_MB} MB (full run measures it)`, met: extrapolated <= TARGET_MB },
          });
        }
        return figures;
      } finally {
        http.close();
        await s.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
