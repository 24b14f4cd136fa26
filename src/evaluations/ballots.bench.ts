/**
 * Ballot ingest over HTTP: starts the built service as its own process on a temporary
 * SQLite store, opens one evaluation with BALLOTS tokens (default 50,000) and casts every
 * one of them through POST /api/evaluations/:id/ballots from CONCURRENCY keep-alive
 * connections, then closes it (the tally) and has the auditor recount it.
 *
 *   npm run build && node dist/evaluations/ballots.bench.js
 *   BALLOTS=50000 CONCURRENCY=64 DOCKET_SQLITE_SYNCHRONOUS=FULL node dist/evaluations/ballots.bench.js
 *
 * `ballotsBench` is the same as a Bench for `npm run bench` (src/bench/main.ts). Not part of
 * the test suite: it takes tens of seconds and measures the machine.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { JwtCodec } from '../auth/jwt';
import type { Bench, BenchContext, Figure } from '../bench/bench-kit';

const SECRET = 'bench-secret-bench-secret-bench-secret-00';

export interface BallotsRun {
  ballots: number;
  concurrency: number;
  sqliteSynchronous: string;
  openMs: number;
  castSeconds: number;
  ballotsPerSecond: number;
  /** The service's CPU time per ballot while casting (HTTP, checks, hash chain, SQLite). */
  serverCpuMicrosPerBallot: number;
  refused: number;
  closeMs: number;
  tallied: number;
  verifyMs: number;
  recountMatches: boolean;
  verifyOk: boolean;
}

let PORT = 0;
let agent = new Agent({ keepAlive: true });

function call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((done, fail) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: PORT,
        method,
        path,
        agent,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          done({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', fail);
    req.end(payload);
  });
}

/** CPU seconds the service process has used (user + system), from /proc: a figure the other load on the machine does not skew. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function must(method: string, path: string, body: unknown, token: string, status: number) {
  const r = await call(method, path, body, token);
  if (r.status !== status) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

/** POSTs of the same size to a bare node:http server answering 201: what HTTP alone costs here. */
async function httpFloor(requests: number, concurrency: number): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"accepted":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const saved = PORT;
  PORT = (server.address() as AddressInfo).port;
  const body = { token: 'X'.repeat(32), ratings: { principal: 'excellent', secretary: 'competent', 'vice-principal': 'excellent' } };
  let next = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        await call('POST', '/api/evaluations/ev-floor/ballots', body);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  PORT = saved;
  await new Promise((r) => server.close(r));
  return requests / seconds;
}

export async function runBallots(options: { ballots: number; concurrency: number; log?: (m: string) => void }): Promise<BallotsRun> {
  const { ballots, concurrency } = options;
  const log = options.log ?? (() => undefined);
  PORT = Number(process.env.BENCH_PORT ?? 38_000 + Math.floor(Math.random() * 1000));
  agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const dataDir = mkdtempSync(join(tmpdir(), 'docket-ballots-bench-'));
  // BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the service.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = spawn(process.execPath, [...nodeArgs, resolve(__dirname, '../main.js')], {
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      DOCKET_DATA_DIR: dataDir,
      DOCKET_JWT_SECRET: SECRET,
      DOCKET_LOG_LEVEL: 'warn',
      DOCKET_BODY_LIMIT: String(64 * 1024 * 1024),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    log(`service on port ${PORT}, ${ballots} ballots from ${concurrency} connections`);
    for (let i = 0; ; i++) {
      const up = await call('GET', '/health').catch(() => null);
      if (up?.status === 200) break;
      if (i > 300) throw new Error('the service did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const bureau = new JwtCodec(SECRET).mint({ sub: 'bench', role: 'bureau' } as any);
    const campaign = 'bench-advanced-nature';
    await must('POST', '/api/campaigns', { id: campaign, workflow: 'advanced-nature', title: 'bench', units: [{ id: 'school', name: '学校' }] }, bureau, 201);
    for (const [deliverables, reviewed] of [[['implementation-plan'], []], [['study-report'], []], [['commitment-letter', 'school-rules'], ['commitment-letter']]] as const) {
      for (const d of deliverables) await must('POST', `/api/campaigns/${campaign}/submissions`, { unit: 'school', deliverable: d, title: d }, bureau, 201);
      for (const d of reviewed) await must('POST', `/api/campaigns/${campaign}/reviews`, { unit: 'school', deliverable: d, decision: 'approved' }, bureau, 201);
      await must('POST', `/api/campaigns/${campaign}/transitions`, { event: 'ADVANCE' }, bureau, 200);
    }
    const share = [0.1, 0.4, 0.4, 0.1];
    const ids = ['teachers', 'parents', 'students', 'staff-congress-delegates'];
    const counts = share.map((s) => Math.floor(ballots * s));
    counts[1] += ballots - counts.reduce((a, b) => a + b, 0);
    const leaders = [
      { id: 'principal', name: '校长' },
      { id: 'secretary', name: '书记' },
      { id: 'vice-principal', name: '副校长' },
    ];
    let t = process.hrtime.bigint();
    const opened = await must(
      'POST',
      `/api/campaigns/${campaign}/evaluations`,
      { evaluation: 'democratic-appraisal', subjects: leaders, groups: ids.map((id, i) => ({ id, ballots: counts[i] })) },
      bureau,
      201,
    );
    const openMs = Number(process.hrtime.bigint() - t) / 1e6;
    const tokens: string[] = ids.flatMap((id) => opened.tokens[id]);
    const grades = ['excellent', 'competent', 'basically-competent', 'incompetent'];
    let next = 0;
    let refused = 0;
    const cpuBefore = cpuSeconds(server.pid!);
    t = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < tokens.length) {
          const i = next++;
          const ratings = Object.fromEntries(leaders.map((l, j) => [l.id, grades[(i * 7 + j * 3) % 4]]));
          const r = await call('POST', `/api/evaluations/${opened.id}/ballots`, { token: tokens[i], ratings });
          if (r.status !== 201) refused += 1;
        }
      }),
    );
    const castS = Number(process.hrtime.bigint() - t) / 1e9;
    const serverCpu = cpuSeconds(server.pid!) - cpuBefore;
    t = process.hrtime.bigint();
    const closed = await must('POST', `/api/evaluations/${opened.id}/close`, undefined, bureau, 200);
    const closeMs = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    const verified = await must('GET', `/api/evaluations/${opened.id}/verify`, undefined, bureau, 200);
    const verifyMs = Number(process.hrtime.bigint() - t) / 1e6;
    return {
      ballots: tokens.length,
      concurrency: concurrency,
      sqliteSynchronous: process.env.DOCKET_SQLITE_SYNCHRONOUS ?? 'FULL',
      openMs: Math.round(openMs),
      castSeconds: Number(castS.toFixed(2)),
      ballotsPerSecond: Math.round(tokens.length / castS),
      serverCpuMicrosPerBallot: Math.round((serverCpu / tokens.length) * 1e6),
      refused,
      closeMs: Math.round(closeMs),
      tallied: closed.tally.cast,
      verifyMs: Math.round(verifyMs),
      recountMatches: verified.matches,
      verifyOk: verified.ok,
    };
  } finally {
    server.kill('SIGTERM');
    agent.destroy();
    await new Promise((r) => server.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** 50,000 ballots over HTTP (10,000 with --quick), beside a bare HTTP server's rate on the same connections. */
export const ballotsBench: Bench = {
  name: 'ballots',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const ballots = ctx.quick ? 10_000 : 50_000;
    const concurrency = 64;
    const floor = await httpFloor(Math.min(ballots, 20_000), concurrency);
    ctx.log(`bare HTTP floor: ${Math.round(floor)} requests/s`);
    const r = await runBallots({ ballots, concurrency, log: ctx.log });
    if (r.refused || !r.verifyOk || r.tallied !== ballots) throw new Error(`the ballots bench went wrong: ${JSON.stringify(r)}`);
    const figure = `${ballots.toLocaleString('en-US')} ballots over HTTP, ${concurrency} connections, SQLite ${r.sqliteSynchronous}`;
    return [
      {
        bench: 'ballots',
        name: `cast: ${figure}`,
        value: r.ballotsPerSecond,
        unit: 'ballots/s',
        floor: { name: 'a bare node:http server answering 201 to the same POSTs', value: Math.round(floor) },
        ratio: r.ballotsPerSecond / floor,
        target: { text: '≥ 1,000 ballots/s', met: r.ballotsPerSecond >= 1000 },
      },
      { bench: 'ballots', name: 'service CPU per ballot while casting', value: r.serverCpuMicrosPerBallot, unit: 'µs' },
      { bench: 'ballots', name: `close: tally of ${ballots.toLocaleString('en-US')} ballots`, value: r.closeMs, unit: 'ms' },
      { bench: 'ballots', name: `verify: recount of ${ballots.toLocaleString('en-US')} ballots from the log (read, hash chain, rules, compare)`, value: r.verifyMs, unit: 'ms' },
      { bench: 'ballots', name: `open: ${ballots.toLocaleString('en-US')} tokens generated and hashed`, value: r.openMs, unit: 'ms' },
    ];
  },
};

if (require.main === module) {
  const ballots = Number(process.env.BALLOTS ?? 50_000);
  const concurrency = Number(process.env.CONCURRENCY ?? 64);
  runBallots({ ballots, concurrency, log: (m) => console.error(m) })
    .then((r) => {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      if (r.refused || !r.verifyOk || r.tallied !== r.ballots) process.exitCode = 1;
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
