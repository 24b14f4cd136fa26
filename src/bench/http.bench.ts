import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/config';
import { JwtCodec } from '../auth/jwt';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { Bench, BenchContext, Figure, fmt } from './bench-kit';
import { chooseLoadGenerator, LoadGenerator, LoadJob, LoadResult, runInChild, runWrk } from './http-load';
import { OpenLoopResult, runOpenLoopProcess } from './open-loop';
import { campaignHistory } from './seed';
import { cpuSeconds, ServiceProcess, startProcess } from './service-process';

const REPO = resolve(__dirname, '../..');
const SECRET = 'bench-secret-bench-secret-bench-secret!';
const CONNECTIONS = 64;
const CAMPAIGNS = 64;
const UNITS = 120;
type Sync = 'FULL' | 'NORMAL';

/** Runs wrk, or autocannon in a child process (either way the load generator has its own process; it still shares the 2 cores). */
function load(generator: LoadGenerator, job: LoadJob): Promise<LoadResult> {
  if (generator === 'wrk') return runWrk(job);
  return runInChild<LoadResult>(join(__dirname, 'http-load.js'), job, 'load generator');
}

/**
 * `runs` runs of each server in alternation (the first named first, then the other first, …), so
 * that a change of pace of a shared machine falls on both alike.
 */
async function alternate<M>(runs: number, first: () => Promise<M>, second: () => Promise<M>): Promise<[M[], M[]]> {
  const a: M[] = [];
  const b: M[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      a.push(await first());
      b.push(await second());
    } else {
      b.push(await second());
      a.push(await first());
    }
  }
  return [a, b];
}

interface Measured {
  result: LoadResult;
  /** The server process's CPU time per wall second while loaded (1.0 = one core busy). */
  serverCores: number;
  /** Commands/s of every measured run, this one (the median) among them. */
  rates: number[];
}

/** A server under test, listening in a process of its own, and the load that fits it. */
interface Server {
  pid: number;
  generator: LoadGenerator;
  job: Omit<LoadJob, 'seconds'>;
  close(): Promise<void>;
}

/** A load run and the server process's CPU time per wall second while it lasted. */
async function withServerCores<R>(server: Server, loadIt: () => Promise<R>): Promise<{ result: R; serverCores: number }> {
  const cpu = cpuSeconds(server.pid);
  const t = Date.now();
  const result = await loadIt();
  return { result, serverCores: ((cpuSeconds(server.pid) - cpu) * 1000) / (Date.now() - t) };
}

const run = (server: Server, seconds: number): Promise<Omit<Measured, 'rates'>> => withServerCores(server, () => load(server.generator, { ...server.job, seconds }));

function median(all: Omit<Measured, 'rates'>[]): Measured {
  const rates = all.map((m) => m.result.rate);
  const middle = [...all].sort((a, b) => a.result.rate - b.result.rate)[Math.floor(all.length / 2)];
  return { ...middle, rates };
}

/**
 * A warm-up run of each (JIT, caches, SQLite pages), then `runs` measured runs of each, in
 * alternation (floor, service; then service, floor; …), so that a change of pace of a shared
 * machine falls on both alike. Each figure is the run with the median rate (its latencies and
 * CPU with it), so one run disturbed by a neighbour does not decide it. Each server is a process
 * of its own; the one not loaded is idle.
 */
async function measureBoth(floor: Server, docket: Server, seconds: number, warmupSeconds: number, runs: number): Promise<{ floor: Measured; docket: Measured }> {
  await run(floor, warmupSeconds);
  await run(docket, warmupSeconds);
  const [f, d] = await alternate(runs, () => run(floor, seconds), () => run(docket, seconds));
  return { floor: median(f), docket: median(d) };
}

/** The target's rate, offered on a fixed schedule by the open-loop generator (open-loop.ts). */
const OFFERED = 5000;

interface OpenMeasured {
  result: OpenLoopResult;
  serverCores: number;
  /** p99 of every run, this one (the median) among them. */
  p99s: number[];
}

const openRun = (server: Server, seconds: number): Promise<Omit<OpenMeasured, 'p99s'>> =>
  withServerCores(server, () => runOpenLoopProcess({ ...server.job, seconds, warmupSeconds: 2, rate: OFFERED }));

/** `runs` open-loop runs of each, alternated as in measureBoth; each figure is the run with the median p99. */
async function measureOpenBoth(floor: Server, docket: Server, seconds: number, runs: number): Promise<{ floor: OpenMeasured; docket: OpenMeasured }> {
  const [d, f] = await alternate(runs, () => openRun(docket, seconds), () => openRun(floor, seconds));
  const median = (all: Omit<OpenMeasured, 'p99s'>[]): OpenMeasured => ({
    ...[...all].sort((a, b) => a.result.p99 - b.result.p99)[Math.floor(all.length / 2)],
    p99s: all.map((m) => m.result.p99),
  });
  return { floor: median(f), docket: median(d) };
}

function describe(label: string, m: Measured): string {
  const r = m.result;
  const runs = m.rates.length > 1 ? ` (median of ${m.rates.length} runs: ${m.rates.map((x) => Math.round(x)).join(', ')} req/s)` : '';
  return `${label}${runs}: ${Math.round(r.rate)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms, ${r.ok2xx} 2xx, ${r.non2xx} non-2xx ${JSON.stringify(r.statusCodes)}, ${r.errors} errors, ${r.timeouts} timeouts; server ${m.serverCores.toFixed(2)} cores, load generator ${(r.cpuSeconds / r.seconds).toFixed(2)} cores`;
}

/**
 * The real service, as \`npm start\` runs it (its own process, node-options.env; Nest + Fastify,
 * auth, validation, CQRS, decide, hash chain, read models, reminders, …), on a store seeded with
 * the campaigns beforehand.
 */
async function startDocket(sync: Sync, generator: LoadGenerator): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-bench-http-'));
  let service: ServiceProcess | undefined;
  const close = async () => {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const config = loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: SECRET }, REPO);
    const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: 'NORMAL' });
    const def = loadWorkflowsDir(config.workflowsDir).find((w) => w.id === 'three-searches')!;
    const campaigns = Array.from({ length: CAMPAIGNS }, (_, i) => `http-${i + 1}`);
    try {
      const repo = new CampaignRepository(store, config);
      for (const id of campaigns) {
        const at = new Date();
        const launch = campaignHistory({ campaignId: id, workflow: def, units: UNITS, stages: 0, lastStageShare: 0 }, at);
        await repo.append(id, null, launch, { actor: { sub: 'bench', role: 'bureau' }, now: at, correlationId: 'bench' });
      }
    } finally {
      await store.close();
    }
    service = await startProcess('main.js', {
      DOCKET_DATA_DIR: dir,
      DOCKET_JWT_SECRET: SECRET,
      DOCKET_STORE: 'sqlite',
      DOCKET_SQLITE_SYNCHRONOUS: sync,
      DOCKET_LOG_LEVEL: 'error',
      PORT: '0',
      HOST: '127.0.0.1',
    });
    const token = new JwtCodec(config.jwtSecret).mint({ sub: 'bench', role: 'bureau' });
    return { pid: service.child.pid!, generator, job: { url: `http://127.0.0.1:${service.port}`, token, campaigns, units: UNITS, connections: CONNECTIONS }, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The floor (http-floor.ts), in its own process as the service is, on an empty store of its own. */
async function startBareFastify(sync: Sync, generator: LoadGenerator): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-bench-http-floor-'));
  let floor: ServiceProcess | undefined;
  const close = async () => {
    await floor?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    floor = await startProcess('bench/http-floor.js', { DOCKET_DATA_DIR: dir, DOCKET_SQLITE_SYNCHRONOUS: sync, PORT: '0', HOST: '127.0.0.1' });
    const campaigns = Array.from({ length: CAMPAIGNS }, (_, i) => `floor-${i + 1}`);
    return { pid: floor.child.pid!, generator, job: { url: `http://127.0.0.1:${floor.port}`, campaigns, units: UNITS, connections: CONNECTIONS }, close };
  } catch (e) {
    await close();
    throw e;
  }
}

const cpuPerRequest = (m: Measured) => (m.serverCores / m.result.rate) * 1e6;

function figures(sync: Sync, generator: LoadGenerator, d: Measured, f: Measured, seconds: number): Figure[] {
  const r = d.result;
  const runs = d.rates.length > 1 ? `, the median of ${d.rates.length} runs (${d.rates.map((x) => fmt(x)).join(', ')} commands/s)` : '';
  const where = `the service as npm start runs it, in its own process; ${CONNECTIONS} connections, ${CAMPAIGNS} campaigns × ${UNITS} units, SQLite WAL synchronous=${sync}, ${seconds} s of ${generator === 'wrk' ? 'wrk (2 threads)' : 'autocannon in a child process'} sharing the 2 cores, alternated with the floor's runs${runs}`;
  const floorName = `bare Fastify route in its own process doing the same append through the same store (writer thread as configured; no auth, validation, decide, hash), synchronous=${sync}`;
  const bad = r.non2xx + r.errors + r.timeouts;
  const note = bad ? `${r.non2xx} non-2xx (${JSON.stringify(r.statusCodes)}), ${r.errors} errors, ${r.timeouts} timeouts` : 'every response 201';
  const fastEnough = r.rate >= 5000 && r.p99 <= 25 && bad === 0;
  return [
    {
      bench: 'http',
      name: `POST /api/campaigns/:id/submissions through Nest + Fastify, bureau JWT + validation (${where}); ${note}`,
      value: r.rate,
      unit: 'commands/s',
      floor: { name: floorName, value: f.result.rate },
      ratio: r.rate / f.result.rate,
      ...(sync === 'FULL' ? { target: { text: '≥ 5,000 commands/s with p99 ≤ 25 ms, all 201', met: fastEnough } } : {}),
      note: `server ${d.serverCores.toFixed(2)} cores busy, load generator ${(r.cpuSeconds / r.seconds).toFixed(2)} cores`,
    },
    {
      bench: 'http',
      name: `same run (synchronous=${sync}), latency p50`,
      value: r.p50,
      unit: 'ms',
      floor: { name: 'bare Fastify, same load', value: f.result.p50 },
      ratio: r.p50 > 0 ? f.result.p50 / r.p50 : undefined,
    },
    {
      bench: 'http',
      name: `same run (synchronous=${sync}), latency p99`,
      value: r.p99,
      unit: 'ms',
      floor: { name: 'bare Fastify, same load', value: f.result.p99 },
      ratio: r.p99 > 0 ? f.result.p99 / r.p99 : undefined,
      ...(sync === 'FULL' ? { target: { text: '≤ 25 ms', met: r.p99 <= 25 } } : {}),
    },
    {
      // CPU time is what a busy or shared machine changes least: 1 s ÷ this is the most one core could serve.
      bench: 'http',
      name: `same run (synchronous=${sync}), service CPU per command (user + system, all threads of the process)`,
      value: cpuPerRequest(d),
      unit: 'µs',
      floor: { name: 'bare Fastify, same load', value: cpuPerRequest(f) },
      ratio: cpuPerRequest(f) / cpuPerRequest(d),
    },
  ];
}

function openFigures(d: OpenMeasured, f: OpenMeasured, seconds: number): Figure[] {
  const r = d.result;
  const bad = r.non2xx + r.errors + r.timeouts;
  const runs = d.p99s.length > 1 ? `, the run with the median p99 of ${d.p99s.length} (${d.p99s.map((x) => fmt(x)).join(', ')} ms)` : '';
  const where = `${fmt(OFFERED)} commands/s offered on a fixed schedule (open loop: ${CONNECTIONS} connections, a request due while all are busy waits for one, and each latency counts from when its request fell due, as wrk2 counts it; ${seconds} s after 2 s at the same rate${runs}); synchronous=FULL`;
  const note = bad ? `${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} unanswered` : 'every response 201';
  return [
    {
      bench: 'http',
      name: `POST /api/campaigns/:id/submissions at ${where}; ${note}: latency p99`,
      value: r.p99,
      unit: 'ms',
      floor: { name: 'bare Fastify, same schedule', value: f.result.p99 },
      ratio: r.p99 > 0 ? f.result.p99 / r.p99 : undefined,
    },
    {
      bench: 'http',
      name: `same schedule, latency p50 (max ${fmt(r.max)} ms)`,
      value: r.p50,
      unit: 'ms',
      floor: { name: 'bare Fastify, same schedule', value: f.result.p50 },
      ratio: r.p50 > 0 ? f.result.p50 / r.p50 : undefined,
    },
    {
      bench: 'http',
      name: 'same schedule, service CPU per command (user + system, all threads of the process)',
      value: (d.serverCores / r.rate) * 1e6,
      unit: 'µs',
      floor: { name: 'bare Fastify, same schedule', value: (f.serverCores / f.result.rate) * 1e6 },
      ratio: (f.serverCores / f.result.rate) / (d.serverCores / r.rate),
    },
  ];
}

/** Issue 8, item 3: submissions through the whole service under 64 concurrent connections. */
export const httpBench: Bench = {
  name: 'http',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const generator = chooseLoadGenerator();
    ctx.log(`load generator: ${generator}${generator === 'autocannon' ? ' (install wrk, e.g. apt-get install wrk, for a load generator that takes a tenth of the CPU)' : ''}`);
    const seconds = ctx.quick ? 4 : 10;
    const warmup = 2; // the service and the floor are fresh processes: JIT and caches warm up first, quick or not
    const runs = ctx.quick ? 1 : 3;
    const out: Figure[] = [];
    // --quick measures the durable setting only (the target's): under 2 minutes for the whole bench.
    for (const sync of ctx.quick ? (['FULL'] as const) : (['FULL', 'NORMAL'] as const)) {
      const floor = await startBareFastify(sync, generator);
      let f: Measured;
      let d: Measured;
      let open: { floor: OpenMeasured; docket: OpenMeasured } | undefined;
      try {
        const docket = await startDocket(sync, generator);
        try {
          ({ floor: f, docket: d } = await measureBoth(floor, docket, seconds, warmup, runs));
          // At the target's rate rather than as fast as the connections go: the latency a steady load sees.
          if (sync === 'FULL') open = await measureOpenBoth(floor, docket, seconds, runs);
        } finally {
          await docket.close();
        }
      } finally {
        await floor.close();
      }
      ctx.log(describe(`bare Fastify, synchronous=${sync}`, f));
      ctx.log(describe(`Docket, synchronous=${sync}`, d));
      if (d.result.non2xx || d.result.errors || d.result.timeouts) ctx.log(`WARNING: not every submission answered 201 (${fmt(d.result.non2xx)} non-2xx)`);
      out.push(...figures(sync, generator, d, f, seconds));
      if (open) {
        const o = (m: OpenMeasured) =>
          `p50 ${m.result.p50} ms, p99 ${m.result.p99} ms (p99 of the runs: ${m.p99s.join(', ')}), max ${m.result.max} ms, ${m.result.ok2xx} 2xx of ${m.result.requests} (${m.result.non2xx} non-2xx, ${m.result.errors} errors, ${m.result.timeouts} timeouts), server ${m.serverCores.toFixed(2)} cores, generator ${(m.result.cpuSeconds / m.result.seconds).toFixed(2)} cores, sent up to ${m.result.sendDelayP99} ms late (p99)`;
        ctx.log(`bare Fastify at ${OFFERED}/s offered: ${o(open.floor)}`);
        ctx.log(`Docket at ${OFFERED}/s offered: ${o(open.docket)}`);
        const r = open.docket.result;
        if (r.non2xx || r.errors || r.timeouts) ctx.log(`WARNING: not every submission at ${OFFERED}/s offered answered 201`);
        out.push(...openFigures(open.docket, open.floor, seconds));
      }
    }
    return out;
  },
};
