import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './docket-harness';

/** The compiled service, as `npm start` runs it (npm test builds it first). */
export const MAIN = join(REPO_ROOT, 'dist/main.js');

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node dist/main.js` on a free port and resolves once it listens. */
export function startService(env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DOCKET_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const stop = (signal: NodeJS.Signals = 'SIGTERM') =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code}:\n${out}`));
    });
  });
}

/** `docket token …` as a user runs it. */
export function cliToken(env: Record<string, string>, ...args: string[]): string {
  return execFileSync(process.execPath, [join(REPO_ROOT, 'bin/docket.js'), 'token', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } })
    .toString()
    .trim();
}

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** A small JSON client over real HTTP. */
export function httpClient(base: () => string) {
  return async (method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<HttpReply> => {
    const res = await fetch(base() + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
}
