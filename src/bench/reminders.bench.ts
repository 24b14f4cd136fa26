import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../app.factory';
import { loadConfig } from '../config/config';
import { ManualClock } from '../common/clock';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { Projector } from '../projections/projector';
import { ReminderScheduler } from '../reminders/reminder-scheduler';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { Bench, BenchContext, Figure, now, percentile } from './bench-kit';
import { campaignHistory } from './seed';

const REPO = resolve(__dirname, '../..');

/** Issue 8's reminder figure: one scan of the due index with 10,000 active campaigns × 100 units. */
export const remindersBench: Bench = {
  name: 'reminder scan',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const campaigns = ctx.quick ? 2000 : 10_000;
    const units = 100;
    const dir = mkdtempSync(join(tmpdir(), 'docket-bench-remind-'));
    const config = loadConfig({ DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: 'x'.repeat(40), DOCKET_LOG_LEVEL: 'error', DOCKET_REMINDER_INTERVAL_MS: '0' }, REPO);
    const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: 'NORMAL' });
    const repo = new CampaignRepository(store, config);
    const def = loadWorkflowsDir(config.workflowsDir).find((w) => w.id === 'three-searches')!;
    const start = Date.parse('2013-09-01T00:00:00Z');
    let t = now();
    for (let c = 0; c < campaigns; c++) {
      // Deadlines spread over 60 days around "now"; 70% of the units have submitted.
      const deadline = new Date(start + (c % 600) * 2.4 * 3600_000 - 30 * 86400_000).toISOString();
      const history = campaignHistory({ campaignId: `s-${c}`, workflow: def, units, stages: 0, lastStageShare: 0.7, deadlines: { learning: deadline } }, new Date(start - 40 * 86400_000));
      await repo.append(`s-${c}`, null, history, { actor: { sub: 'bench', role: 'bureau' }, now: new Date(start - 40 * 86400_000), correlationId: 'bench' });
      repo.forget(`s-${c}`);
    }
    ctx.log(`seeded ${campaigns} campaigns × ${units} units in ${((now() - t) / 1000).toFixed(1)} s`);
    const clock = new ManualClock(new Date(start));
    const app = await createApp({ config, clock, store });
    const projector = app.get(Projector);
    const head = (store.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number }).p;
    t = now();
    while (projector.position < head) await new Promise((r) => setTimeout(r, 50));
    ctx.log(`projected in ${((now() - t) / 1000).toFixed(1)} s`);
    const scheduler = app.get(ReminderScheduler);
    t = now();
    const first = await scheduler.scan();
    const firstMs = now() - t;
    ctx.log(`first scan: ${first.candidates} campaigns looked at, ${first.issued} reminders issued in ${Math.round(firstMs)} ms`);
    // Steady state: the clock moves a minute per scan, as with DOCKET_REMINDER_INTERVAL_MS=60000.
    const steady: number[] = [];
    let issued = 0;
    for (let i = 0; i < (ctx.quick ? 20 : 60); i++) {
      clock.advance(60_000);
      const s = now();
      const r = await scheduler.scan();
      steady.push(now() - s);
      issued += r.issued;
    }
    steady.sort((a, b) => a - b);
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    const median = percentile(steady, 50);
    return [
      {
        bench: 'reminders',
        name: `scan of the due index, ${campaigns} active campaigns × ${units} units, median of minute-by-minute scans (${issued} reminders issued along)`,
        value: median,
        unit: 'ms',
        target: { text: '≤ 200 ms', met: median <= 200 },
      },
      { bench: 'reminders', name: 'same scans, p99', value: percentile(steady, 99), unit: 'ms' },
      { bench: 'reminders', name: `first scan after start (timers computed for every campaign, ${first.issued} reminders issued)`, value: firstMs, unit: 'ms' },
    ];
  },
};
