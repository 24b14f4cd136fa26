import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/config';
import { JwtCodec } from '../../src/auth/jwt';
import { ManualClock } from '../../src/common/clock';
import type { EventStore } from '../../src/event-store/event-store.port';

export const REPO_ROOT = resolve(__dirname, '../..');

export interface Reply<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  raw: string;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Docket {
  app: NestFastifyApplication;
  dataDir: string;
  clock: ManualClock;
  bureau: string;
  auditor: string;
  unitToken(unit: string): string;
  mint(claims: { sub: string; role: string; unit?: string }): string;
  call<T = any>(method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH', url: string, options?: CallOptions): Promise<Reply<T>>;
  close(): Promise<void>;
}

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

/**
 * Boots the real application (Nest + Fastify, real SQLite store in a temp dir, the
 * shipped workflows) with a manual clock, and talks to it through Fastify's inject.
 */
export async function startDocket(options: { dataDir?: string; clock?: ManualClock; env?: Record<string, string>; store?: EventStore } = {}): Promise<Docket> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'docket-test-'));
  const config = loadConfig(
    { DOCKET_DATA_DIR: dataDir, DOCKET_LOG_LEVEL: 'error', DOCKET_JWT_SECRET: TEST_SECRET, DOCKET_SQLITE_SYNCHRONOUS: 'NORMAL', DOCKET_REMINDER_INTERVAL_MS: '0', DOCKET_WEBHOOK_INTERVAL_MS: '0', ...options.env },
    REPO_ROOT,
  );
  const clock = options.clock ?? new ManualClock('2013-08-22T01:00:00.000Z');
  const app = await createApp({ config, clock, store: options.store });
  const fastify = app.getHttpAdapter().getInstance();
  const jwt = new JwtCodec(config.jwtSecret);
  const mint = (claims: { sub: string; role: string; unit?: string }) => jwt.mint(claims as any);
  const bureau = mint({ sub: 'bureau-office', role: 'bureau' });
  const auditor = mint({ sub: 'inspector', role: 'auditor' });
  return {
    app,
    dataDir,
    clock,
    bureau,
    auditor,
    mint,
    unitToken: (unit) => mint({ sub: `${unit}-secretary`, role: 'unit', unit }),
    async call(method, url, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const token = opts.token === undefined ? bureau : opts.token;
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fastify.inject({ method, url, headers, ...(opts.body !== undefined ? { payload: opts.body as any } : {}) });
      let body: any = res.body;
      try {
        body = JSON.parse(res.body);
      } catch {
        /* not JSON */
      }
      return { status: res.statusCode, headers: res.headers as any, body, raw: res.body };
    },
    async close() {
      await app.close();
    },
  };
}

export function removeDir(dir: string) {
  rmSync(dir, { recursive: true, force: true });
}
