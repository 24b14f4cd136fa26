import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { Docket, REPO_ROOT } from '../support/docket-harness';
import { PG_URL } from '../support/postgres';

export { dropSchema, PG_URL } from '../support/postgres';

const CLI = join(REPO_ROOT, 'bin/docket.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

/**
 * The compiled `docket` CLI as an auditor runs it (dist is built by `npm test`'s pretest).
 * Asynchronous on purpose: the suites run a service in this very process, and a CLI that waits
 * for a lock that service holds (PostgreSQL: a transaction in flight) would wait forever if this
 * process's event loop were blocked in spawnSync. Killed after 60 s (status null).
 */
export function docketCli(args: string[], env: Record<string, string | undefined> = {}, cwd = REPO_ROOT): Promise<CliResult> {
  if (!existsSync(join(REPO_ROOT, 'dist/cli/main.js'))) throw new Error('dist/cli/main.js is missing: run `npx tsc -p tsconfig.build.json` (npm test does it)');
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of ['DOCKET_STORE', 'DOCKET_DATA_DIR', 'DATABASE_URL', 'DOCKET_PG_SCHEMA', 'KURRENTDB_URL']) delete base[k];
  return run(process.execPath, [CLI, ...args], { cwd, env: { ...base, ...env } as NodeJS.ProcessEnv });
}

/** A child process to its end (or 60 s, then killed: status null), its output collected. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      let json: any;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ status: code, stdout, stderr, json });
    });
  });
}

/** A small three-searches campaign over HTTP: launch, problem lists, ADVANCE, plans, reviews (11 events for 3 units). */
export async function runSmallCampaign(docket: Docket, id: string, unitCount = 3): Promise<number> {
  const units = Array.from({ length: unitCount }, (_, i) => ({ id: `branch-${i + 1}`, name: `第${i + 1}党支部` }));
  const ok = (status: number, expected: number, what: string) => {
    if (status !== expected) throw new Error(`${what}: HTTP ${status}`);
  };
  const tick = () => docket.clock.advance(3_600_000);
  tick();
  ok((await docket.call('POST', '/api/campaigns', { body: { id, workflow: 'three-searches', title: `审计测试 ${id}`, units } })).status, 201, 'launch');
  for (const u of units) {
    tick();
    const r = await docket.call('POST', `/api/campaigns/${id}/submissions`, {
      token: docket.unitToken(u.id),
      body: { unit: u.id, deliverable: 'problem-list', title: `${u.name}查找问题清单` },
    });
    ok(r.status, 201, 'submit');
  }
  tick();
  ok((await docket.call('POST', `/api/campaigns/${id}/transitions`, { body: { event: 'ADVANCE', reason: '领导小组会议' } })).status, 200, 'advance');
  for (const u of units) {
    tick();
    const r = await docket.call('POST', `/api/campaigns/${id}/submissions`, {
      token: docket.unitToken(u.id),
      body: { unit: u.id, deliverable: 'rectification-plan', title: `${u.name}整改方案`, content: '问题、措施、责任人、时限' },
    });
    ok(r.status, 201, 'submit plan');
  }
  for (const u of units) {
    tick();
    ok((await docket.call('POST', `/api/campaigns/${id}/reviews`, { body: { unit: u.id, deliverable: 'rectification-plan', decision: 'approved' } })).status, 201, 'review');
  }
  // A list waits for the read models to include the service's writes: the projection has read
  // every event before a test tampers with one (a hole made earlier would be passed over).
  ok((await docket.call('GET', '/api/campaigns?limit=1')).status, 200, 'list');
  return 2 + 3 * unitCount - 1;
}

/** A stored event row, as the store's tables hold it. */
export interface Row {
  position: number;
  stream_id: string;
  revision: number;
  id: string;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
}

/** Direct access to a store's tables, as someone with the database's password would tamper with them. */
export interface Tamperer {
  kind: 'sqlite' | 'postgres';
  env: Record<string, string>;
  row(stream: string, revision: number): Promise<Row>;
  setData(stream: string, revision: number, data: string): Promise<void>;
  deleteEvent(stream: string, revision: number): Promise<void>;
  /** Exchanges the revisions of two events (the rows keep their ids, content and positions). */
  swapRevisions(stream: string, a: number, b: number): Promise<void>;
  setStreamRevision(stream: string, revision: number): Promise<void>;
  insert(row: Row): Promise<void>;
  close(): Promise<void>;
}

export function sqliteTamperer(dataDir: string): Tamperer {
  const db = new Database(join(dataDir, 'docket.sqlite'));
  db.pragma('busy_timeout = 10000');
  return {
    kind: 'sqlite',
    env: { DOCKET_DATA_DIR: dataDir },
    async row(stream, revision) {
      const r = db.prepare('SELECT * FROM events WHERE stream_id = ? AND revision = ?').get(stream, revision) as Row | undefined;
      if (!r) throw new Error(`no row ${stream}@${revision}`);
      return r;
    },
    async setData(stream, revision, data) {
      db.prepare('UPDATE events SET data = ? WHERE stream_id = ? AND revision = ?').run(data, stream, revision);
    },
    async deleteEvent(stream, revision) {
      db.prepare('DELETE FROM events WHERE stream_id = ? AND revision = ?').run(stream, revision);
    },
    async swapRevisions(stream, a, b) {
      db.transaction(() => {
        const set = db.prepare('UPDATE events SET revision = ? WHERE stream_id = ? AND revision = ?');
        set.run(-1, stream, a);
        set.run(a, stream, b);
        set.run(b, stream, -1);
      })();
    },
    async setStreamRevision(stream, revision) {
      db.prepare('UPDATE streams SET revision = ? WHERE stream_id = ?').run(revision, stream);
    },
    async insert(r) {
      db.prepare('INSERT INTO events (position, stream_id, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        r.position,
        r.stream_id,
        r.revision,
        r.id,
        r.type,
        r.data,
        r.metadata,
        r.recorded_at,
      );
    },
    async close() {
      db.close();
    },
  };
}

export async function postgresTamperer(schema: string): Promise<Tamperer> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  const t = (name: string) => `"${schema}".${name}`;
  return {
    kind: 'postgres',
    env: { DOCKET_STORE: 'postgres', DATABASE_URL: PG_URL, DOCKET_PG_SCHEMA: schema },
    async row(stream, revision) {
      const r = await client.query(
        `SELECT position::int AS position, stream_id, revision::int AS revision, id, type, data::text AS data, metadata::text AS metadata, recorded_at::text AS recorded_at
         FROM ${t('events')} WHERE stream_id = $1 AND revision = $2`,
        [stream, revision],
      );
      if (!r.rows[0]) throw new Error(`no row ${stream}@${revision}`);
      return r.rows[0];
    },
    async setData(stream, revision, data) {
      await client.query(`UPDATE ${t('events')} SET data = $1::json WHERE stream_id = $2 AND revision = $3`, [data, stream, revision]);
    },
    async deleteEvent(stream, revision) {
      await client.query(`DELETE FROM ${t('events')} WHERE stream_id = $1 AND revision = $2`, [stream, revision]);
    },
    async swapRevisions(stream, a, b) {
      await client.query('BEGIN');
      await client.query(`UPDATE ${t('events')} SET revision = -1 WHERE stream_id = $1 AND revision = $2`, [stream, a]);
      await client.query(`UPDATE ${t('events')} SET revision = $2 WHERE stream_id = $1 AND revision = $3`, [stream, a, b]);
      await client.query(`UPDATE ${t('events')} SET revision = $2 WHERE stream_id = $1 AND revision = -1`, [stream, b]);
      await client.query('COMMIT');
    },
    async setStreamRevision(stream, revision) {
      await client.query(`UPDATE ${t('streams')} SET revision = $1 WHERE stream_id = $2`, [revision, stream]);
    },
    async insert(r) {
      await client.query(
        `INSERT INTO ${t('events')} (position, stream_id, revision, id, type, data, metadata, recorded_at) VALUES ($1, $2, $3, $4, $5, $6::json, $7::json, $8::timestamptz)`,
        [r.position, r.stream_id, r.revision, r.id, r.type, r.data, r.metadata, r.recorded_at],
      );
    },
    async close() {
      await client.end();
    },
  };
}
