/**
 * Open-loop load for the HTTP bench: submissions sent on a fixed schedule (`rate` a second) over
 * `connections` keep-alive connections, whatever the service's pace. A request that falls due
 * while every connection waits for an answer waits for one, and its latency is counted from when
 * it fell due, not from when it could be sent: a pause of the service counts against every
 * request it held up, as wrk2 counts it (no "coordinated omission"). wrk (closed loop) measures
 * how fast 64 connections go; this measures the latency at a given rate.
 *
 * Plain TCP sockets with the requests formatted once (the same requests in the same order as
 * wrk's script, http-load.ts) and a parser that reads only the status line and Content-Length:
 * a few µs of CPU per request, so that the generator takes little of the 2 cores it shares with
 * the service. It runs in a process of its own (child_process.fork), so its own garbage
 * collection pauses are not the bench harness's; they would only count against the service.
 */
import { fork } from 'node:child_process';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LoadJob, LoadResult, submissionBody } from './http-load';

export interface OpenLoopJob extends LoadJob {
  /** Requests a second, sent on a fixed schedule. */
  rate: number;
  /** Sent on the same schedule before the measured `seconds`, and not counted. */
  warmupSeconds: number;
}

export interface OpenLoopResult extends LoadResult {
  /** Requests a second that fell due in the measured window (the rate asked for). */
  offered: number;
}

interface Connection {
  socket: Socket;
  /** The request it waits on: its number, and when it fell due (ms, performance.now()). */
  n: number;
  due: number;
  pending: Buffer;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/** Each request's bytes, formatted once: request i goes to campaign i mod C with unit body ⌊i / C⌋ mod U, as in wrk's script. */
function formatRequests(job: LoadJob): Buffer[] {
  const { host } = new URL(job.url);
  const out: Buffer[] = [];
  for (let i = 0; i < job.campaigns.length * job.units; i++) {
    const campaign = job.campaigns[i % job.campaigns.length];
    const body = Buffer.from(submissionBody((Math.floor(i / job.campaigns.length) % job.units) + 1));
    const head =
      `POST /api/campaigns/${campaign}/submissions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
      (job.token ? `Authorization: Bearer ${job.token}\r\n` : '') +
      `Content-Length: ${body.length}\r\n\r\n`;
    out.push(Buffer.concat([Buffer.from(head), body]));
  }
  return out;
}

const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0);
const ms = (x: number) => Math.round(x * 100) / 100;

export async function runOpenLoop(job: OpenLoopJob): Promise<OpenLoopResult> {
  const { hostname, port } = new URL(job.url);
  const requests = formatRequests(job);
  const interval = 1000 / job.rate;
  const total = Math.round((job.warmupSeconds + job.seconds) * job.rate);
  const firstMeasured = Math.round(job.warmupSeconds * job.rate);
  const latencies = new Float64Array(total - firstMeasured);
  const statusCodes: Record<string, number> = {};
  let measured = 0;
  let ok2xx = 0;
  let non2xx = 0;
  let errors = 0;
  let answered = 0;
  let start = 0;

  const idle: Connection[] = [];
  /** Requests that fell due while every connection was busy, by number. */
  const backlog: number[] = [];
  let head = 0;

  const send = (c: Connection, n: number) => {
    c.n = n;
    c.due = start + n * interval;
    c.socket.write(requests[n % requests.length]);
  };
  const finished = (c: Connection, status: number) => {
    const now = performance.now();
    if (c.n >= firstMeasured) {
      latencies[measured++] = now - c.due;
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status >= 200 && status < 300) ok2xx++;
      else non2xx++;
    }
    answered++;
    if (head < backlog.length) send(c, backlog[head++]);
    else idle.push(c);
  };

  const connections = await Promise.all(
    Array.from(
      { length: job.connections },
      () =>
        new Promise<Connection>((resolve, reject) => {
          const socket = connect({ host: hostname, port: Number(port), noDelay: true });
          const c: Connection = { socket, pending: Buffer.alloc(0), n: -1, due: 0 };
          socket.once('connect', () => resolve(c));
          socket.once('error', reject);
        }),
    ),
  );
  let failed: Error | undefined;
  for (const c of connections) {
    c.socket.removeAllListeners('error');
    c.socket.on('error', (e) => {
      errors++;
      failed ??= e;
    });
    c.socket.on('data', (chunk: Buffer) => {
      c.pending = c.pending.length ? Buffer.concat([c.pending, chunk]) : chunk;
      // One answer at a time per connection (no pipelining): it is complete once its body is.
      const end = c.pending.indexOf(CRLF2);
      if (end < 0) return;
      const header = c.pending.toString('latin1', 0, end);
      const length = LENGTH.exec(header);
      if (!length) {
        failed ??= new Error(`an answer without Content-Length: ${header.split('\r\n')[0]}`);
        errors++;
        c.socket.destroy();
        return;
      }
      const size = end + 4 + Number(length[1]);
      if (c.pending.length < size) return;
      c.pending = c.pending.subarray(size);
      finished(c, Number(header.slice(9, 12)));
    });
    idle.push(c);
  }

  const cpu = process.cpuUsage();
  start = performance.now();
  let next = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      for (; next < due; next++) {
        const c = idle.pop();
        if (c) send(c, next);
        else backlog.push(next);
      }
      if (next < total) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  // Every request sent: wait for the answers still out (at most 10 s, wrk's timeout).
  const deadline = performance.now() + 10_000;
  while (answered < total && performance.now() < deadline && !failed) await new Promise((r) => setTimeout(r, 5));
  const elapsed = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  for (const c of connections) c.socket.destroy();
  if (failed && errors > 0 && answered === 0) throw failed;

  const sorted = latencies.slice(0, measured).sort();
  const timeouts = total - answered;
  return {
    seconds: job.seconds,
    requests: measured,
    ok2xx,
    non2xx,
    errors,
    timeouts,
    statusCodes,
    rate: ok2xx / job.seconds,
    offered: job.rate,
    p50: ms(percentile(sorted, 50)),
    p90: ms(percentile(sorted, 90)),
    p99: ms(percentile(sorted, 99)),
    max: ms(sorted.length ? sorted[sorted.length - 1] : 0),
    cpuSeconds: ((used.user + used.system) / 1e6) * (job.seconds / elapsed),
  };
}

/** Runs the open-loop load in a child process of its own, which answers with its result. */
export function runOpenLoopProcess(job: OpenLoopJob): Promise<OpenLoopResult> {
  return new Promise((done, fail) => {
    const child = fork(join(__dirname, 'open-loop.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    let settled = false;
    child.once('message', (m: { result?: OpenLoopResult; error?: string }) => {
      settled = true;
      if (m.result) done(m.result);
      else fail(new Error(`open-loop load failed: ${m.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) fail(new Error(`open-loop load exited with ${code} before answering`));
    });
    child.send(job);
  });
}

if (require.main === module) {
  process.on('message', (job: OpenLoopJob) => {
    runOpenLoop(job).then(
      (result) => process.send!({ result }, undefined, undefined, () => process.exit(0)),
      (error) => process.send!({ error: String(error?.stack ?? error) }, undefined, undefined, () => process.exit(1)),
    );
  });
}
