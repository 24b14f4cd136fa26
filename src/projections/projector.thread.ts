/**
 * The projection thread (see projector.ts): a ProjectionRunner with connections of its own to
 * the store (reading) and to the read models (writing), so that folding events and writing rows
 * never holds up the event loop that serves requests. Every message it sends is a
 * ProjectionThreadReport; it takes ProjectionThreadCommands.
 *
 * On SQLite the service's store tells the thread after each commit ('wake'); PostgreSQL and
 * KurrentDB wake its subscription themselves (LISTEN/NOTIFY, a server subscription).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { StorageConfig } from '../config/config';
import { createEventStore } from '../event-store/event-store.factory';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import type { CampaignChange } from './projection';
import { ProjectionRunner } from './projection-runner';
import { createReadModelDb } from './read-model-db.factory';

export interface ProjectionThreadData {
  storage: StorageConfig;
  lingerMs: number;
}

export type ProjectionThreadReport =
  | { kind: 'migrated'; position: number }
  | { kind: 'projected'; position: number; changes: CampaignChange[] }
  | { kind: 'log'; level: 'warn' | 'error'; message: string };

export type ProjectionThreadCommand = { kind: 'wake' } | { kind: 'want'; position: number } | { kind: 'close' };

const port = parentPort!;
const data = workerData as ProjectionThreadData;
const report = (r: ProjectionThreadReport) => port.postMessage(r);
const warn = (message: string) => report({ kind: 'log', level: 'warn', message });

// The thread only reads the log: no writer thread of its own.
const store = createEventStore({ ...data.storage, sqliteWriterThread: false }, warn);
const db = createReadModelDb(data.storage);
const runner = new ProjectionRunner(db, store, {
  migrated: (position) => report({ kind: 'migrated', position }),
  projected: (position, changes) => report({ kind: 'projected', position, changes }),
  warn,
  error: (message) => report({ kind: 'log', level: 'error', message }),
});
runner.lingerMs = data.lingerMs;

let closing: Promise<void> | undefined;
async function close(): Promise<void> {
  await runner.close();
  await store.close();
  await db.close();
  port.close();
}

port.on('message', (command: ProjectionThreadCommand) => {
  switch (command.kind) {
    case 'wake':
      if (store instanceof SqliteEventStore) store.wake();
      return;
    case 'want':
      // Someone waits for it: read the log now (the service tells commits at most once per linger).
      if (store instanceof SqliteEventStore) store.wake();
      runner.want(command.position);
      return;
    case 'close':
      closing ??= close().catch((e) => {
        report({ kind: 'log', level: 'error', message: `closing the projection thread failed: ${(e as Error).message}` });
        port.close();
      });
      return;
  }
});

runner.start().catch((e) => report({ kind: 'log', level: 'error', message: `projector stopped: ${(e as Error).message}` }));
