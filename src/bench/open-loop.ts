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
 * about 25 µs of CPU per request (0.12–0.15 of a core at 5,000/s; wrk takes 9–11 µs), and its
 * own lateness in sending (sendDelayP99, 2–4 ms at p99 in the bench) counts against the server
 * it loads. A connection the server closes is replaced; an answer it owed is an error. What is
 * unanswered DRAIN_MS after the schedule ends is a timeout, and counts in the latencies as it
 * stands. It runs in a process of its own (runInChild), so the bench harness's garbage
 * collection pauses are not its own.
 */
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { answerInChild, LoadJob, LoadResult, runInChild, submissionBody } from './http-load';

export interface OpenLoopJob extends LoadJob {
  /** Requests a second, sent on a fixed schedule. */
  rate: number;
  /** Sent on the same schedule before the measured `seconds`, and not counted. */
  warmupSeconds: number;
  /** How long answers are awaited after the schedule ends (default DRAIN_MS). */
  drainMs?: number;
}

export interface OpenLoopResult extends LoadResult {
  /** Requests a second that fell due in the measured window (the rate asked for). */
  offered: number;
  /** p99 of how late the generator itself sent a request after it fell due (ms): its own share of the latencies. */
  sendDelayP99: number;
}

interface Connection {
  socket: Socket;
  /** The request it waits on (-1: idle), and when that fell due (ms, performance.now()). */
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

/** How long an answer may take: what is still unanswered then counts as a timeout, with its latency so far. */
const DRAIN_MS = 10_000;

export async function runOpenLoop(job: OpenLoopJob): Promise<OpenLoopResult> {
  const { hostname, port } = new URL(job.url);
  const requests = formatRequests(job);
  const interval = 1000 / job.rate;
  const total = Math.round((job.warmupSeconds + job.seconds) * job.rate);
  const firstMeasured = Math.round(job.warmupSeconds * job.rate);
  const inWindow = (n: number) => n >= firstMeasured;
  const latencies = new Float64Array(total - firstMeasured);
  /** How late the generator itself sent each measured request (its own share of the latencies). */
  const sendDelays = new Float64Array(total - firstMeasured);
  const statusCodes: Record<string, number> = {};
  let measured = 0;
  let sent = 0;
  let ok2xx = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let settled = 0;
  let start = 0;
  let done = false;
  let failure: Error | undefined;

  const idle: Connection[] = [];
  const live = new Set<Connection>();
  /** Requests that fell due while every connection was busy, by number, oldest first. */
  const backlog: number[] = [];
  let head = 0;
  const due = (n: number) => start + n * interval;

  const send = (c: Connection, n: number) => {
    c.n = n;
    c.due = due(n);
    if (inWindow(n)) sendDelays[sent++] = performance.now() - c.due;
    c.socket.write(requests[n % requests.length]);
  };
  const next = (c: Connection) => {
    c.n = -1;
    if (head < backlog.length) send(c, backlog[head++]);
    else idle.push(c);
  };
  const finished = (c: Connection, status: number) => {
    if (inWindow(c.n)) {
      latencies[measured++] = performance.now() - c.due;
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status >= 200 && status < 300) ok2xx++;
      else non2xx++;
    }
    settled++;
    next(c);
  };

  /** A keep-alive connection; one the server closes is replaced (an answer it owed is an error). */
  const open = (): Promise<Connection> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port), noDelay: true });
      const c: Connection = { socket, pending: Buffer.alloc(0), n: -1, due: 0 };
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        live.add(c);
        socket.on('error', (e) => (failure ??= e));
        socket.on('data', (chunk: Buffer) => {
          c.pending = c.pending.length ? Buffer.concat([c.pending, chunk]) : chunk;
          // One answer at a time per connection (no pipelining): it is complete once its body is.
          const end = c.pending.indexOf(CRLF2);
          if (end < 0) return;
          const header = c.pending.toString('latin1', 0, end);
          const length = LENGTH.exec(header);
          if (!length) {
            failure ??= new Error(`an answer without Content-Length: ${header.split('\r\n')[0]}`);
            socket.destroy();
            return;
          }
          const size = end + 4 + Number(length[1]);
          if (c.pending.length < size) return;
          c.pending = c.pending.subarray(size);
          finished(c, Number(header.slice(9, 12)));
        });
        socket.once('close', () => {
          live.delete(c);
          const i = idle.indexOf(c);
          if (i >= 0) idle.splice(i, 1);
          if (c.n >= 0) {
            // Sent, and never answered on this connection.
            if (inWindow(c.n)) errors++;
            settled++;
            c.n = -1;
          }
          if (!done) open().then(next, (e: Error) => (failure ??= e));
        });
        resolve(c);
      });
    });

  for (const c of await Promise.all(Array.from({ length: job.connections }, open))) idle.push(c);

  const cpu = process.cpuUsage();
  start = performance.now();
  let scheduled = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const upTo = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      for (; scheduled < upTo; scheduled++) {
        const c = idle.pop();
        if (c) send(c, scheduled);
        else backlog.push(scheduled);
      }
      if (scheduled < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  // The generator's CPU while it kept the schedule (its rate is the same through the warm-up).
  const used = process.cpuUsage(cpu);
  const scheduleSeconds = (performance.now() - start) / 1000;
  // Every request fell due: wait for the answers still owed, at most DRAIN_MS.
  const deadline = performance.now() + (job.drainMs ?? DRAIN_MS);
  while (settled < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  done = true;
  // What is still owed counts as a timeout, with the latency it had reached (not left out: open-loop rules).
  const now = performance.now();
  for (let i = head; i < backlog.length; i++) {
    if (!inWindow(backlog[i])) continue;
    timeouts++;
    latencies[measured++] = now - due(backlog[i]);
  }
  for (const c of [...live]) {
    // Still waiting: its request times out (and its 'close' does not count it as an error).
    if (c.n >= 0 && inWindow(c.n)) {
      timeouts++;
      latencies[measured++] = now - c.due;
    }
    c.n = -1;
    c.socket.destroy();
  }
  // Nothing was answered at all: the run measured nothing but the failure.
  if (failure && ok2xx + non2xx === 0) throw failure;

  const sorted = latencies.slice(0, measured).sort();
  const delays = sendDelays.slice(0, sent).sort();
  return {
    seconds: job.seconds,
    requests: total - firstMeasured,
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
    sendDelayP99: ms(percentile(delays, 99)),
    cpuSeconds: ((used.user + used.system) / 1e6) * (job.seconds / scheduleSeconds),
  };
}

/** Runs the open-loop load in a child process of its own, which answers with its result. */
export function runOpenLoopProcess(job: OpenLoopJob): Promise<OpenLoopResult> {
  return runInChild<OpenLoopResult>(join(__dirname, 'open-loop.js'), job, 'open-loop load');
}

if (require.main === module) answerInChild(runOpenLoop);
