/**
 * The load generators of the HTTP bench. Both send the same requests: valid submissions spread
 * round-robin over the campaigns (and, per campaign, over its units) on `connections` keep-alive
 * connections for `seconds`, and both answer with a LoadResult.
 *
 * - wrk (https://github.com/wg/wrk, Debian package `wrk`), when it is on the PATH: written in C,
 *   it takes about a tenth of the CPU per request that autocannon does, which matters when the
 *   load generator shares the 2 cores with the service it measures. The requests are formatted
 *   once, by a Lua script, and sent in turn.
 * - autocannon otherwise (an npm dependency, so `npm run bench` works on a fresh machine), run
 *   in its own process (child_process.fork) so that it does not share the service's event
 *   loop: it gets a LoadJob over IPC and answers with the LoadResult.
 */
import { execFile, execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoadJob {
  url: string;
  token?: string;
  campaigns: string[];
  /** Units are unit-1 … unit-N. */
  units: number;
  seconds: number;
  connections: number;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** This process's CPU time while loading (user + system, seconds): the load generator's share of the 2 cores. */
  cpuSeconds: number;
}

export function submissionBody(unit: number): string {
  return JSON.stringify({ unit: `unit-${unit}`, deliverable: 'problem-list', title: `单位${unit}查找问题清单` });
}

export type LoadGenerator = 'wrk' | 'autocannon';

/** wrk's threads: the connections split between them, as the 2 cores are. */
const WRK_THREADS = 2;

/** wrk when it is installed (and not overridden by DOCKET_BENCH_LOAD=autocannon), else autocannon. */
export function chooseLoadGenerator(env: NodeJS.ProcessEnv = process.env): LoadGenerator {
  if (env.DOCKET_BENCH_LOAD === 'autocannon') return 'autocannon';
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (e) {
    // wrk --version prints its banner and exits 1; only a missing binary is "not installed".
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (env.DOCKET_BENCH_LOAD === 'wrk') throw new Error('DOCKET_BENCH_LOAD=wrk but wrk is not on the PATH (apt-get install wrk)');
      return 'autocannon';
    }
    return 'wrk';
  }
}

/** A Lua string literal holding `text` byte for byte (a long bracket whose level the text does not close). */
function luaString(text: string): string {
  let level = '';
  // The closing bracket must not occur in the text, nor be completed by the text's own end ("a]").
  while (`${text}]`.includes(`]${level}]`)) level += '=';
  // Lua drops a newline right after the opening bracket: a leading one is given twice.
  return `[${level}[${text.startsWith('\n') ? '\n' : ''}${text}]${level}]`;
}

/**
 * The wrk script: every request formatted once in init (the same order as autocannon's
 * setupRequest: request i goes to campaign i mod C with unit body ⌊i / C⌋ mod U), handed out in
 * turn by request(), thread t of T sending requests t, t + T, t + 2T, …; done() prints the
 * summary as one JSON line. os.clock() is the CPU time of the whole wrk process (all its
 * threads), read when the run ends.
 */
export function wrkScript(job: LoadJob): string {
  const headers = [`["Content-Type"] = "application/json"`, ...(job.token ? [`["Authorization"] = ${luaString(`Bearer ${job.token}`)}`] : [])];
  return `
local campaigns = { ${job.campaigns.map(luaString).join(', ')} }
local bodies = { ${Array.from({ length: job.units }, (_, i) => luaString(submissionBody(i + 1))).join(',\n')} }
local headers = { ${headers.join(', ')} }
local requests = {}
local threads = 0
local n
setup = function(thread)
  thread:set("first", threads)
  threads = threads + 1
end
init = function(args)
  n = first - ${WRK_THREADS}
  local period = #campaigns * #bodies
  for i = 0, period - 1 do
    local c = campaigns[(i % #campaigns) + 1]
    local b = bodies[(math.floor(i / #campaigns) % #bodies) + 1]
    requests[i + 1] = wrk.format("POST", "/api/campaigns/" .. c .. "/submissions", headers, b)
  end
end
request = function()
  n = n + ${WRK_THREADS}
  if n >= #requests then n = n - #requests end
  return requests[n + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK-RESULT {"duration":%d,"requests":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"cpu":%f}\\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, os.clock()))
end
`;
}

/**
 * Runs wrk with WRK_THREADS threads. Its latencies are kept to the microsecond and reported in
 * ms; requests answered with a status ≥ 400 are its "status errors", reported as non-2xx.
 */
export async function runWrk(job: LoadJob): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-bench-wrk-'));
  try {
    const script = join(dir, 'submissions.lua');
    writeFileSync(script, wrkScript(job));
    const out = await new Promise<string>((done, fail) =>
      execFile('wrk', [`-t${WRK_THREADS}`, `-c${job.connections}`, `-d${job.seconds}s`, '--timeout', '10s', '-s', script, job.url], { maxBuffer: 1 << 20 }, (error, stdout, stderr) =>
        error ? fail(new Error(`wrk failed: ${error.message}\n${stderr}`)) : done(stdout),
      ),
    );
    const line = out.split('\n').find((l) => l.startsWith('WRK-RESULT '));
    if (!line) throw new Error(`wrk printed no result:\n${out}`);
    const w = JSON.parse(line.slice('WRK-RESULT '.length)) as Record<string, number>;
    const seconds = w.duration / 1e6;
    const ok = w.requests - w.status;
    const ms = (us: number) => Math.round(us / 10) / 100;
    return {
      seconds,
      requests: w.requests,
      ok2xx: ok,
      non2xx: w.status,
      errors: w.connect + w.read + w.write,
      timeouts: w.timeout,
      statusCodes: w.status ? { '≥400': w.status } : {},
      rate: ok / seconds,
      p50: ms(w.p50),
      p90: ms(w.p90),
      p99: ms(w.p99),
      max: ms(w.max),
      cpuSeconds: w.cpu,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(job: LoadJob): Promise<LoadResult> {
  // autocannon ships no types; it is loaded only in the process that runs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon');
  let n = 0;
  const bodies = Array.from({ length: job.units }, (_, i) => submissionBody(i + 1));
  const cpu = process.cpuUsage();
  const r = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    headers: { 'content-type': 'application/json', ...(job.token ? { authorization: `Bearer ${job.token}` } : {}) },
    requests: [
      {
        method: 'POST',
        setupRequest: (req: Record<string, unknown>) => {
          const i = n++;
          const c = job.campaigns[i % job.campaigns.length];
          req.path = `/api/campaigns/${c}/submissions`;
          req.body = bodies[Math.floor(i / job.campaigns.length) % job.units];
          return req;
        },
      },
    ],
  });
  const used = process.cpuUsage(cpu);
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = (s as { count: number }).count;
  return {
    seconds: r.duration,
    requests: r.requests.total,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    rate: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

/**
 * Runs `script` (a module of dist/bench that calls answerInChild) in a child process of its own,
 * hands it `job` over IPC and resolves with what it answers: a load generator that shares no
 * event loop, and no heap, with the bench or the service.
 */
export function runInChild<R>(script: string, job: unknown, what: string): Promise<R> {
  return new Promise((done, fail) => {
    const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    let settled = false;
    child.once('message', (m: { result?: R; error?: string }) => {
      settled = true;
      if (m.result) done(m.result);
      else fail(new Error(`${what} failed: ${m.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) fail(new Error(`${what} exited with ${code} before answering`));
    });
    child.send(job as object);
  });
}

/** The child's side of runInChild: does `work` with the job it is sent, answers, and exits. */
export function answerInChild<J, R>(work: (job: J) => Promise<R>): void {
  process.on('message', (job: J) => {
    work(job).then(
      (result) => process.send!({ result }, undefined, undefined, () => process.exit(0)),
      (error) => process.send!({ error: String(error?.stack ?? error) }, undefined, undefined, () => process.exit(1)),
    );
  });
}

if (require.main === module) answerInChild(runAutocannon);
