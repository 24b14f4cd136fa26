import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');

/** The service's Node options as `npm start` and the Docker image run it (node --env-file=node-options.env). */
export const NODE_OPTIONS_FILE = join(REPO, 'node-options.env');

export function shippedNodeOptions(): string {
  const line = /^NODE_OPTIONS=(["']?)(.*)\1\s*$/m.exec(readFileSync(NODE_OPTIONS_FILE, 'utf8'));
  if (!line) throw new Error(`${NODE_OPTIONS_FILE} sets no NODE_OPTIONS`);
  return line[2];
}

/**
 * The service runs with the shipped Node options (node-options.env), unless DOCKET_BENCH_NODE_OPTIONS
 * is set, for experiments: it is passed to the service as NODE_OPTIONS, which takes the file's place
 * (e.g. --max-old-space-size=128), without constraining this process.
 */
export const SERVICE_NODE_OPTIONS = process.env.DOCKET_BENCH_NODE_OPTIONS;

/** How the service's Node options were chosen, for the report. */
export function describeNodeOptions(): string {
  return SERVICE_NODE_OPTIONS
    ? `NODE_OPTIONS=${SERVICE_NODE_OPTIONS} (DOCKET_BENCH_NODE_OPTIONS, in place of node-options.env)`
    : `NODE_OPTIONS=${shippedNodeOptions()} (node-options.env, as npm start)`;
}

/** VmRSS (now) and VmHWM (peak so far) of a process, in bytes, from /proc (Linux). */
export function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU time (user + system, every thread) a process has used so far, in seconds, from /proc (Linux; clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces), from field 3 (state) on: utime is field 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** How long a process may take to start listening (a service on a large store projects first). */
const START_TIMEOUT_MS = 300_000;

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/**
 * Runs `script` (a file under dist/) as `npm start` runs the service: `node --env-file=node-options.env`,
 * with this process's environment and `env` on top (this process's own NODE_OPTIONS is not passed on).
 * Resolves with the port once the process prints "listening on http://host:port".
 */
export async function startProcess(script: string, env: Record<string, string | undefined>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [`--env-file=${NODE_OPTIONS_FILE}`, join(REPO, 'dist', script)], {
    cwd: REPO,
    env: { ...process.env, ...env, NODE_OPTIONS: SERVICE_NODE_OPTIONS || undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((done, fail) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${script} did not say it was listening within ${START_TIMEOUT_MS / 1000} s: ${stderr.slice(-2000)}`));
    }, START_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // what it prints later is not kept
      done(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${script} exited with ${code} before listening: ${stderr.slice(-2000)}`));
    });
  });
  return {
    child,
    port,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
