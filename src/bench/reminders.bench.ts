import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../app.factory';
import { loadConfig } from '../config/config';
import { ManualClock } from '../common/clock';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { CampaignRepository } from '../campaigns/campaign.repository';
import type { CampaignEvent } from '../campaigns/domain/campaign-events';
import { Projector } from '../projections/projector';
import { ReminderScheduler } from '../reminders/reminder-scheduler';
import { DeliveryDispatcher } from '../webhooks/delivery-dispatcher';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { Bench, BenchContext, Figure, now, percentile } from './bench-kit';
import { campaignHistory } from './seed';

const REPO = resolve(__dirname, '../..');
const UNITS = 100;
/** Campaigns appended in one turn of the event loop: one SQLite transaction each. */
const SEED_BATCH = 100;
/** Outbox rows the dispatcher is timed on after the first scan (its passes take 100 rows each). */
const DISPATCH_SAMPLE = 1000;

/**
 * Issue 8's reminder figures with 10,000 active campaigns × 100 units (2,000 with --quick), in
 * the learning stage, 70 % of the units having submitted, deadlines spread over 60 days around
 * "now": the first scan after start (every campaign due: about 30 reminders each) and the
 * minute-by-minute scans after it.
 *
 * The delivery dispatcher is off while the scheduler is measured (DOCKET_WEBHOOK_INTERVAL_MS=0):
 * it runs on the same event loop and would bill the sending of every reminder to the scan.
 * How fast it empties the outbox the first scan filled is measured apart, on a sample.
 */
export const remindersBench: Bench = {
  name: 'reminder scan',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const campaigns = ctx.quick ? 2000 : 10_000;
    const dir = mkdtempSync(join(tmpdir(), 'docket-bench-remind-'));
    const config = loadConfig(
      { DOCKET_DATA_DIR: dir, DOCKET_JWT_SECRET: 'x'.repeat(40), DOCKET_LOG_LEVEL: 'error', DOCKET_REMINDER_INTERVAL_MS: '0', DOCKET_WEBHOOK_INTERVAL_MS: '0' },
      REPO,
    );
    const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: 'NORMAL' });
    const start = Date.parse('2013-09-01T00:00:00Z');
    let t = now();
    await seed(store, config, campaigns, start);
    ctx.log(`seeded ${campaigns} campaigns × ${UNITS} units in ${((now() - t) / 1000).toFixed(1)} s`);

    const clock = new ManualClock(new Date(start));
    const head = (store.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number }).p;
    t = now();
    // The projector catches up from the start (part of it already while the app initialises).
    const app = await createApp({ config, clock, store });
    const projector = app.get(Projector);
    await projector.ready();
    while (projector.position < head) await new Promise((r) => setTimeout(r, 50));
    ctx.log(`started the service and projected its ${head} events in ${((now() - t) / 1000).toFixed(1)} s`);

    const scheduler = app.get(ReminderScheduler);
    t = now();
    const cpu = process.cpuUsage();
    const first = await scheduler.scan();
    const firstMs = now() - t;
    const firstCpu = process.cpuUsage(cpu);
    ctx.log(
      `first scan: ${first.candidates} campaigns looked at, ${first.issued} reminders issued in ${Math.round(firstMs)} ms ` +
        `(CPU of this process ${Math.round((firstCpu.user + firstCpu.system) / 1000)} ms, the projector's included)`,
    );
    const reminderHead = (store.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number }).p;
    t = now();
    while (projector.position < reminderHead) await new Promise((r) => setTimeout(r, 20));
    ctx.log(`read models caught up with the reminders ${Math.round(now() - t)} ms after the scan`);

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

    // The outbox the first scan filled (one e-mail row per reminder; no SMTP configured, so each is
    // marked skipped without being rendered), emptied by the dispatcher's passes of 100 rows.
    const dispatcher = app.get(DeliveryDispatcher);
    let handled = 0;
    t = now();
    while (handled < DISPATCH_SAMPLE) {
      const r = await dispatcher.dispatchOnce();
      const n = r.attempted + r.skipped;
      if (n === 0) break;
      handled += n;
    }
    const dispatchRate = handled / ((now() - t) / 1000);
    ctx.log(`dispatcher: ${handled} outbox rows in ${Math.round(now() - t)} ms; the ${first.issued} rows of the first scan would take ${Math.round(first.issued / dispatchRate)} s`);

    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    const median = percentile(steady, 50);
    return [
      {
        bench: 'reminders',
        name: `scan of the due index, ${campaigns} active campaigns × ${UNITS} units, median of minute-by-minute scans (${issued} reminders issued along)`,
        value: median,
        unit: 'ms',
        target: { text: '≤ 200 ms', met: median <= 200 },
      },
      { bench: 'reminders', name: 'same scans, p99', value: percentile(steady, 99), unit: 'ms' },
      {
        bench: 'reminders',
        name: `first scan after start, ${campaigns} active campaigns × ${UNITS} units (every campaign due: timers computed for each, ${first.issued} reminders issued, the read models keeping pace with it; the delivery dispatcher off)`,
        value: firstMs,
        unit: 'ms',
      },
      {
        bench: 'reminders',
        name: `delivery of the first scan's reminders: outbox rows the dispatcher handles per second (${handled} of them; no SMTP configured, so each e-mail row is marked skipped without being rendered)`,
        value: dispatchRate,
        unit: 'rows/s',
      },
    ];
  },
};

/** Appends the campaigns' histories, decided once and given each campaign's id, title and deadline. */
async function seed(store: SqliteEventStore, config: ReturnType<typeof loadConfig>, campaigns: number, start: number): Promise<void> {
  const repo = new CampaignRepository(store, config);
  const def = loadWorkflowsDir(config.workflowsDir).find((w) => w.id === 'three-searches')!;
  const launchedAt = new Date(start - 40 * 86400_000);
  const [launch, ...rest] = campaignHistory({ campaignId: 'template', workflow: def, units: UNITS, stages: 0, lastStageShare: 0.7 }, launchedAt);
  const append = async (c: number) => {
    const id = `s-${c}`;
    // Deadlines spread over 60 days around "now".
    const deadline = new Date(start + (c % 600) * 2.4 * 3600_000 - 30 * 86400_000).toISOString();
    const history = [{ ...launch, data: { ...launch.data, campaignId: id, title: `${def.title.zh} ${id}`, deadlines: { learning: deadline } } } as CampaignEvent, ...rest];
    await repo.append(id, null, history, { actor: { sub: 'bench', role: 'bureau' }, now: launchedAt, correlationId: 'bench' });
    repo.forget(id);
  };
  for (let c = 0; c < campaigns; c += SEED_BATCH) {
    await Promise.all(Array.from({ length: Math.min(SEED_BATCH, campaigns - c) }, (_, i) => append(c + i)));
  }
}
