import { execFileSync, spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, removeDir } from '../support/docket-harness';
import { httpClient, MAIN, ServiceProcess, startService } from '../support/service-process';
import { seedCampaigns } from '../../src/bench/seed';
import { CampaignCommandExecutor } from '../../src/campaigns/campaign-command.executor';
import { WorkflowRegistry } from '../../src/workflows/workflow.registry';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store';
import { CampaignRepository } from '../../src/campaigns/campaign.repository';
import { ManualClock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/config';
import { loadWorkflowsDir } from '../../src/workflows/workflow-loader';

/**
 * The service is killed (SIGKILL) while it projects a log of 100,000 events into fresh
 * read models; after a restart it finishes, and `docket projections check` finds the
 * read models equal to the pure replay of the log.
 */
describe('projecting 100,000 events through a kill -9', () => {
  const CAMPAIGNS = Number(process.env.CRASH_CAMPAIGNS ?? 250);
  const SECRET = 'x'.repeat(40);
  const clock = new ManualClock('2013-09-01T00:00:00Z');
  let svc: ServiceProcess;
  let dataDir: string;
  let head = 0;
  const api = httpClient(() => svc.url);

  beforeAll(async () => {
    // Seed straight through the command path (decide, hash chain, append) without a running service.
    dataDir = mkdtempSync(join(tmpdir(), 'docket-crash-'));
    const config = loadConfig({ DOCKET_DATA_DIR: dataDir, DOCKET_JWT_SECRET: SECRET, DOCKET_SQLITE_SYNCHRONOUS: 'NORMAL' }, REPO_ROOT);
    const store = new SqliteEventStore({ filename: join(dataDir, 'docket.sqlite'), synchronous: 'NORMAL' });
    const executor = new CampaignCommandExecutor(new CampaignRepository(store, config), clock);
    const workflows = new WorkflowRegistry(loadWorkflowsDir(config.workflowsDir));
    const { events } = await seedCampaigns(executor, workflows, clock, {
      prefix: 'load',
      campaigns: CAMPAIGNS,
      units: 120,
      stages: 1,
      returnEvery: 5,
      clockStepMs: 1000,
    });
    if (!process.env.CRASH_CAMPAIGNS) expect(events).toBeGreaterThanOrEqual(100_000);
    const [last] = await store.readStream(`campaign-load-${CAMPAIGNS}`, { direction: 'backwards', maxCount: 1 });
    head = last.position;
    await store.close();
  }, 300_000);
  afterAll(async () => {
    await svc?.stop();
    removeDir(dataDir);
  });

  const position = async () => (await api('GET', '/health', null)).json?.projections?.position ?? 0;

  /** The read models' own checkpoint, read from their SQLite file by another process (this one). */
  const checkpoint = () => {
    try {
      const db = new Database(join(dataDir, 'read-models.sqlite'), { readonly: true, fileMustExist: true });
      try {
        const row = db.prepare("SELECT position FROM rm_checkpoints WHERE name = 'campaigns'").get() as { position: number } | undefined;
        return row?.position ?? 0;
      } finally {
        db.close();
      }
    } catch {
      return 0;
    }
  };

  it('restarts after the kill, catches up, and its read models equal the replay', async () => {
    const child = spawn(process.execPath, [MAIN], { cwd: REPO_ROOT, env: { ...process.env, PORT: '0', DOCKET_DATA_DIR: dataDir, DOCKET_JWT_SECRET: SECRET, DOCKET_LOG_LEVEL: 'error' }, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    let p = 0;
    for (let i = 0; i < 20_000 && p === 0; i++) {
      p = checkpoint();
      if (p === 0) await new Promise((r) => setTimeout(r, 1));
    }
    child.kill('SIGKILL');
    await exited;
    const killedAt = checkpoint();
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(head);

    svc = await startService({ DOCKET_DATA_DIR: dataDir, DOCKET_JWT_SECRET: SECRET });
    for (let i = 0; i < 600 && (await position()) < head; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await position()).toBe(head);
    await svc.stop();

    const out = execFileSync(process.execPath, [join(REPO_ROOT, 'bin/docket.js'), 'projections', 'check', '--json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DOCKET_DATA_DIR: dataDir, DOCKET_JWT_SECRET: SECRET },
      maxBuffer: 64 * 1024 * 1024,
    }).toString();
    const report = JSON.parse(out);
    expect(report.differences).toEqual([]);
    expect(report).toMatchObject({ ok: true, campaigns: CAMPAIGNS, checkpoint: head, head });
  }, 300_000);
});
