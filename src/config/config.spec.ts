import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config';

describe('configuration', () => {
  it('defaults to the embedded store under ./data on port 3000, and generates a secret once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-cfg-'));
    const c = loadConfig({}, dir);
    expect(c).toMatchObject({ port: 3000, store: 'sqlite', dataDir: join(dir, 'data'), sqliteSynchronous: 'FULL', sqliteWriterThread: true, projectionThread: true, cacheCampaigns: 4000, cacheMb: 32 });
    expect(c.jwtSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(loadConfig({}, dir).jwtSecret).toBe(c.jwtSecret);
    expect(readFileSync(join(dir, 'data/jwt-secret'), 'utf8').trim()).toBe(c.jwtSecret);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports every problem by variable name at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DOCKET_STORE: 'postgres', DOCKET_JWT_SECRET: 'short', DOCKET_SQLITE_SYNCHRONOUS: 'OFF', DOCKET_CACHE_MB: '0', DOCKET_SQLITE_WRITER_THREAD: 'yes', DOCKET_PROJECTION_THREAD: 'no' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'DOCKET_JWT_SECRET', 'DOCKET_SQLITE_SYNCHRONOUS', 'DOCKET_CACHE_MB', 'DOCKET_SQLITE_WRITER_THREAD', 'DOCKET_PROJECTION_THREAD']) expect(problems).toContain(name);
  });

  it('turns the writer and projection threads off when told', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-cfg-'));
    const c = loadConfig({ DOCKET_JWT_SECRET: 'x'.repeat(40), DOCKET_SQLITE_WRITER_THREAD: 'false', DOCKET_PROJECTION_THREAD: 'FALSE' }, dir);
    expect(c).toMatchObject({ sqliteWriterThread: false, projectionThread: false });
    rmSync(dir, { recursive: true, force: true });
  });

  it('projects on the service thread by default with PostgreSQL, on a thread of its own when told', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-cfg-'));
    const pg = { DOCKET_JWT_SECRET: 'x'.repeat(40), DOCKET_STORE: 'postgres', DATABASE_URL: 'postgres://localhost/test' };
    expect(loadConfig(pg, dir).projectionThread).toBe(false);
    expect(loadConfig({ ...pg, DOCKET_STORE: 'sqlite', DOCKET_READ_MODELS: 'postgres' }, dir).projectionThread).toBe(false);
    expect(loadConfig({ ...pg, DOCKET_PROJECTION_THREAD: 'true' }, dir).projectionThread).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('bounds the campaign cache by count and by estimated MiB, both from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-cfg-'));
    const c = loadConfig({ DOCKET_JWT_SECRET: 'x'.repeat(40), DOCKET_CACHE_CAMPAIGNS: '2400', DOCKET_CACHE_MB: '64' }, dir);
    expect(c).toMatchObject({ cacheCampaigns: 2400, cacheMb: 64 });
    for (const bad of ['0', '1.5', 'lots', '2000000']) {
      expect(() => loadConfig({ DOCKET_JWT_SECRET: 'x'.repeat(40), DOCKET_CACHE_MB: bad }, dir)).toThrow(/DOCKET_CACHE_MB must be an integer between 1 and 1048576/);
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
