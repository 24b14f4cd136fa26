import type { Command } from 'commander';
import { loadConfig } from '../config/config';
import { createEventStore } from '../event-store/event-store.factory';
import type { EventStore } from '../event-store/event-store.port';
import type { SqlDb } from '../projections/sql-db';
import { createReadModelDb } from '../projections/read-model-db.factory';
import { rebuildReadModels } from '../projections/rebuild';
import { checkReadModels } from '../projections/consistency-check';
import { migrateReadModels } from '../projections/projection';

/** Opens the store and the read models the configuration names, runs `work`, and closes both. */
async function withReadModels(work: (store: EventStore, db: SqlDb) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const store = createEventStore(config);
  const db = createReadModelDb(config);
  try {
    await work(store, db);
  } finally {
    await db.close();
    await store.close();
  }
}

/** `docket projections rebuild|check`: on the store and read models the configuration names, service stopped. */
export function registerProjectionsCommands(program: Command): void {
  const projections = program.command('projections').description('Read models (lists, matrices, inboxes) kept from the log');

  projections
    .command('rebuild')
    .description('Drop the read models and project the whole log again (stop the service first)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withReadModels(async (store, db) => {
        const started = process.hrtime.bigint();
        const tty = !opts.json && process.stderr.isTTY;
        const result = await rebuildReadModels(store, db, (position, events) => {
          if (tty) process.stderr.write(`\rprojected ${events} events (position ${position})`);
        });
        if (tty) process.stderr.write('\n');
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (opts.json) process.stdout.write(JSON.stringify({ ...result, seconds }) + '\n');
        else process.stdout.write(`rebuilt read models from ${result.events} events in ${seconds.toFixed(1)} s\n`);
      });
    });

  projections
    .command('check')
    .description('Compare every read model with the pure replay of the log; exit 0 only when they agree')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withReadModels(async (store, db) => {
        await migrateReadModels(db);
        const tty = !opts.json && process.stderr.isTTY;
        const report = await checkReadModels(store, db, (done, total) => {
          if (tty) process.stderr.write(`\rchecked ${done}/${total} campaigns`);
        });
        if (tty) process.stderr.write('\n');
        if (opts.json) process.stdout.write(JSON.stringify(report) + '\n');
        else {
          process.stdout.write(`${report.campaigns} campaigns, checkpoint ${report.checkpoint} of ${report.head}: ${report.ok ? 'read models agree with the log' : `${report.differences.length} differences`}\n`);
          for (const d of report.differences.slice(0, 200)) {
            process.stdout.write(`  ${d.campaign} ${d.table} ${d.field}: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.actual)}\n`);
          }
        }
        process.exitCode = report.ok ? 0 : 1;
      });
    });
}
