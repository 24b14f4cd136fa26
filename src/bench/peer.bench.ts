import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as EmmettSqlite from '@event-driven-io/emmett-sqlite';
import { loadConfig } from '../config/config';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { appendChained, ChainHead, linkEvents, UnchainedEvent } from '../event-store/chained-append';
import { asCampaignEvent } from '../campaigns/campaign.repository';
import { CampaignState, evolve, replay } from '../campaigns/domain/campaign-state';
import { campaignStream, RecordedCampaignEvent } from '../campaigns/domain/campaign-events';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import type { WorkflowDefinition } from '../workflows/domain/workflow-definition';
import { Bench, BenchContext, Figure, now } from './bench-kit';
import { campaignHistory } from './seed';

const REPO = resolve(__dirname, '../..');
const actor = { sub: 'bench', role: 'bureau' as const };
const UNITS = 120;
type Sync = 'FULL' | 'NORMAL';

/**
 * Emmett's sqlite3 connections close asynchronously (close() returns before the handle is gone, and
 * errors of its fire-and-forget PRAGMA are thrown as 'error' events): their temporary directories
 * are removed only at the end of the bench, after a pause.
 */
const leftovers: string[] = [];
async function removeLeftovers(): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
  for (const dir of leftovers.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Emmett is ESM; this file is CommonJS, where TypeScript (module node20) keeps import() a real dynamic import. */
const loadEmmett = (): Promise<typeof EmmettSqlite> => import('@event-driven-io/emmett-sqlite');

/**
 * The workload, identical on every side: `streams` campaign streams, each launched (one
 * CampaignLaunched carrying the workflow and 120 units), then `appends` single-event appends of
 * a DeliverableSubmitted (about 300 bytes of JSON with its metadata) with the expected version,
 * round-robin over the streams, each awaited before the next. Every side chains the events the
 * same way (Docket's hash chain), so what differs is the store.
 */
class Workload {
  constructor(
    readonly def: WorkflowDefinition,
    readonly streams: number,
    readonly appends: number,
  ) {}

  ids(): string[] {
    return Array.from({ length: this.streams }, (_, i) => `peer-${i + 1}`);
  }

  /** The n-th event (0: the launch) of a campaign. */
  event(id: string, n: number): UnchainedEvent {
    const at = new Date(Date.parse('2013-09-01T00:00:00Z') + n * 60_000);
    const metadata = { actor, occurredAt: at.toISOString(), correlationId: `peer-${id}-${n}` };
    if (n === 0) return { ...campaignHistory({ campaignId: id, workflow: this.def, units: UNITS, stages: 0, lastStageShare: 0 }, at)[0], metadata };
    const u = 1 + ((n - 1) % UNITS);
    return {
      type: 'DeliverableSubmitted',
      data: { stage: 'learning', unit: `unit-${u}`, deliverable: 'problem-list', title: `单位${u}查找问题清单`, version: 1 + Math.floor((n - 1) / UNITS) },
      metadata,
    };
  }
}

/** Chains events per stream (prevHash, hash) exactly as appendChained does, for the Emmett sides. */
function chainer(w: Workload) {
  const heads = new Map<string, ChainHead>();
  return (id: string, n: number) => {
    const [e] = linkEvents(heads.get(id) ?? null, [w.event(id, n)]);
    heads.set(id, { revision: n, hash: e.metadata!.hash as string });
    return { type: e.type, data: e.data as Record<string, unknown>, metadata: e.metadata! };
  };
}

interface Side {
  label: string;
  /** Appends event n (0 = the launch) to campaign id, expecting revision n - 1. */
  append(id: string, n: number): Promise<void>;
  /** Reads a campaign's stream and folds it with Docket's evolve. */
  rehydrate(id: string): Promise<CampaignState | null>;
  close(): Promise<void>;
  /** Appends retried after Emmett's SQLITE_BUSY at COMMIT (see withBusyRetry). */
  retries: number;
}

function docketSide(w: Workload, sync: Sync): Side {
  const dir = mkdtempSync(join(tmpdir(), 'docket-bench-peer-'));
  const store = new SqliteEventStore({ filename: join(dir, 'docket.sqlite'), synchronous: sync });
  const heads = new Map<string, ChainHead>();
  return {
    label: `Docket SqliteEventStore (better-sqlite3, WAL, synchronous=${sync})`,
    retries: 0,
    async append(id, n) {
      // What CampaignRepository.append does: chain (hash) and append with the expected revision.
      const r = await appendChained(store, campaignStream(id), heads.get(id) ?? null, [w.event(id, n)]);
      heads.set(id, { revision: r.events[0].revision, hash: r.events[0].metadata.hash });
    },
    async rehydrate(id) {
      return replay((await store.readStream(campaignStream(id))).map(asCampaignEvent));
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Emmett's event as Docket's evolve reads it: Emmett keeps our metadata and adds streamPosition (1-based). */
function emmettEvolve(state: CampaignState | null, e: { type: string; data: unknown; metadata: Record<string, any> }): CampaignState | null {
  (e as unknown as { revision: number }).revision = Number(e.metadata.streamPosition) - 1;
  return evolve(state, e as unknown as RecordedCampaignEvent);
}

/**
 * Emmett 0.38.5 on node-sqlite3 now and then fails a COMMIT with "SQLITE_BUSY: cannot commit
 * transaction - SQL statements in progress" (its INSERT/UPDATE … RETURNING statement is finalised
 * on sqlite3's queue, racing the COMMIT) and rolls back. Nothing was written, so the same append
 * with the same expected version is retried; retries are counted and reported, and their time
 * is part of Emmett's figure.
 */
async function withBusyRetry(side: Side, work: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await work();
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 20) throw e;
      side.retries += 1;
    }
  }
}

/** Emmett through its EventStore API (getSQLiteEventStore): on a file it opens and closes a sqlite3 connection per call. */
async function emmettStoreSide(w: Workload): Promise<Side> {
  const emmett = await loadEmmett();
  const dir = mkdtempSync(join(tmpdir(), 'emmett-bench-peer-'));
  const store = emmett.getSQLiteEventStore({ fileName: join(dir, 'emmett.sqlite') });
  const next = chainer(w);
  const side: Side = {
    label: 'Emmett getSQLiteEventStore (sqlite3, WAL, synchronous=FULL: its defaults; a connection per call)',
    retries: 0,
    async append(id, n) {
      const e = next(id, n);
      await withBusyRetry(side, () => store.appendToStream(campaignStream(id), [e], { expectedStreamVersion: BigInt(n) }));
    },
    async rehydrate(id) {
      const r = await store.aggregateStream<CampaignState | null, any>(campaignStream(id), { evolve: emmettEvolve, initialState: () => null });
      return r.state;
    },
    async close() {
      leftovers.push(dir);
    },
  };
  return side;
}

/** Emmett's own append and read functions on one connection kept open: Emmett without the per-call open and close. */
async function emmettConnectionSide(w: Workload, sync: Sync): Promise<Side> {
  const emmett = await loadEmmett();
  const dir = mkdtempSync(join(tmpdir(), 'emmett-bench-peer-'));
  const connection = emmett.sqliteConnection({ fileName: join(dir, 'emmett.sqlite') });
  await connection.command('PRAGMA journal_mode = WAL');
  await connection.command(`PRAGMA synchronous = ${sync}`);
  await emmett.createEventStoreSchema(connection);
  const next = chainer(w);
  const side: Side = {
    label: `Emmett appendToStream/readStream on one open connection (sqlite3, WAL, synchronous=${sync})`,
    retries: 0,
    async append(id, n) {
      const e = next(id, n);
      await withBusyRetry(side, async () => {
        const r = await emmett.appendToStream(connection, campaignStream(id), 'campaign', [e], { expectedStreamVersion: BigInt(n) });
        if (!r.success) throw new Error(`Emmett refused append ${n} to ${id}`);
      });
    },
    async rehydrate(id) {
      const r = await emmett.readStream(connection, campaignStream(id));
      let state: CampaignState | null = null;
      for (const e of r.events) if (e) state = emmettEvolve(state, e as any);
      return state;
    },
    async close() {
      connection.close();
      leftovers.push(dir);
    },
  };
  return side;
}

interface Rates {
  label: string;
  append: number;
  rehydrate: number;
}

/**
 * Runs the sides in lockstep (append round n on every side, then n + 1; rehydrate round r on
 * every side, then r + 1), each timed on its own, so that a machine whose load changes over the
 * run (a shared 2-core box) weighs on every side alike.
 */
async function lockstep(ctx: BenchContext, w: Workload, sides: Side[], rounds: number, concurrent = false): Promise<Rates[]> {
  const ids = w.ids();
  const appendMs = sides.map(() => 0);
  const rehydrateMs = sides.map(() => 0);
  const append = async (side: Side, id: string, n: number) =>
    side.append(id, n).catch((e) => {
      throw new Error(`${side.label}: append ${n} to ${id} failed: ${String(e)}`);
    });
  try {
    for (const side of sides) for (const id of ids) await append(side, id, 0);
    for (let n = 1; n <= w.appends; n++) {
      for (let s = 0; s < sides.length; s++) {
        const t = now();
        if (concurrent) await Promise.all(ids.map((id) => append(sides[s], id, n)));
        else for (const id of ids) await append(sides[s], id, n);
        appendMs[s] += now() - t;
      }
    }
    // Warm-up, and a check that every side holds every event.
    for (const side of sides) {
      for (const id of ids) {
        const state = await side.rehydrate(id);
        if (!state || state.revision !== w.appends) throw new Error(`${side.label}: ${id} rehydrated to revision ${state?.revision}, expected ${w.appends}`);
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (let s = 0; s < sides.length; s++) {
        const t = now();
        for (const id of ids) {
          const state = await sides[s].rehydrate(id);
          if (!state || state.revision !== w.appends) throw new Error(`${sides[s].label}: ${id} rehydrated to revision ${state?.revision}, expected ${w.appends}`);
        }
        rehydrateMs[s] += now() - t;
      }
    }
  } finally {
    for (const side of sides) await side.close();
  }
  return sides.map((side, s) => {
    const rates = {
      label: side.label + (side.retries ? ` (${side.retries} of ${w.streams * (w.appends + 1)} appends retried after SQLITE_BUSY)` : ''),
      append: (w.streams * w.appends) / (appendMs[s] / 1000),
      rehydrate: (w.streams * (w.appends + 1) * rounds) / (rehydrateMs[s] / 1000),
    };
    ctx.log(`${rates.label}${concurrent ? ', concurrent writers' : ''}: append ${Math.round(rates.append)} events/s${rounds ? `, rehydrate ${Math.round(rates.rehydrate)} events/s` : ''}`);
    return rates;
  });
}

function compare(ours: Rates, peer: Rates, w: Workload, rounds: number, what: string): Figure[] {
  const shape = `${w.streams} streams × ${w.appends} single-event appends with expected version, hash-chained`;
  return [
    {
      bench: 'peer',
      name: `append: ${shape} (${what})`,
      value: ours.append,
      unit: 'events/s',
      floor: { name: `peer: ${peer.label}`, value: peer.append },
      ratio: ours.append / peer.append,
      target: { text: 'ahead of Emmett (ratio > 1)', met: ours.append > peer.append },
    },
    {
      bench: 'peer',
      name: `rehydrate: read + fold each stream of ${w.appends + 1} events with Docket's evolve, ${rounds} rounds (${what})`,
      value: ours.rehydrate,
      unit: 'events/s',
      floor: { name: `peer: ${peer.label}`, value: peer.rehydrate },
      ratio: ours.rehydrate / peer.rehydrate,
      target: { text: 'ahead of Emmett (ratio > 1)', met: ours.rehydrate > peer.rehydrate },
    },
  ];
}

/** Issue 8, item 6: the same append + rehydrate workload on Docket and on Emmett (emmett-sqlite 0.38.5), as ratios. */
export const peerBench: Bench = {
  name: 'peer',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const config = loadConfig({ DOCKET_DATA_DIR: tmpdir(), DOCKET_JWT_SECRET: 'x'.repeat(40) }, REPO);
    const def = loadWorkflowsDir(config.workflowsDir).find((x) => x.id === 'three-searches')!;
    const w = ctx.quick ? new Workload(def, 20, 30) : new Workload(def, 20, 100);
    const rounds = ctx.quick ? 5 : 10;
    // Emmett's connection logs every failed transaction with console.log, which is where the figures go.
    const log = console.log;
    let emmettLogged = 0;
    console.log = () => void (emmettLogged += 1);
    try {
      // Durability: Emmett's sqlite3 opens WAL with synchronous=FULL (its compiled default, checked here),
      // which is Docket's default too, so the FULL comparison is like for like.
      const emmett = await loadEmmett();
      const dir = mkdtempSync(join(tmpdir(), 'emmett-probe-'));
      const c = emmett.sqliteConnection({ fileName: join(dir, 'p.sqlite') });
      const [{ synchronous }] = await c.query<{ synchronous: number }>('PRAGMA synchronous');
      c.close();
      leftovers.push(dir);
      const emmettDefault = synchronous === 2 ? 'FULL' : synchronous === 1 ? 'NORMAL' : String(synchronous);
      ctx.log(`Emmett's sqlite3 default: journal_mode=WAL (set by Emmett), synchronous=${emmettDefault}`);

      const [docket, emmettApi, emmettConn] = await lockstep(ctx, w, [docketSide(w, 'FULL'), await emmettStoreSide(w), await emmettConnectionSide(w, 'FULL')], rounds);
      const out = [
        ...compare(docket, emmettApi, w, rounds, `both WAL + synchronous=FULL; Emmett through getSQLiteEventStore`),
        ...compare(docket, emmettConn, w, rounds, 'both WAL + synchronous=FULL; Emmett on one open connection, its best case'),
      ];
      // The same appends with the streams' writers concurrent (one append per stream in flight, as
      // under HTTP load): Docket commits a turn's appends together (group commit). Emmett's
      // getSQLiteEventStore cannot take concurrent calls on a file (it closes the shared connection
      // under the other calls: SQLITE_MISUSE), so Emmett runs on one open connection, where its
      // transaction nesting counter happens to fold concurrent appends into one transaction.
      const [docketC, emmettC] = await lockstep(ctx, w, [docketSide(w, 'FULL'), await emmettConnectionSide(w, 'FULL')], 0, true);
      out.push({
        bench: 'peer',
        name: `append, ${w.streams} concurrent writers (one per stream, each awaiting its previous append), ${w.streams} streams × ${w.appends} (both WAL + synchronous=FULL; Emmett on one open connection)`,
        value: docketC.append,
        unit: 'events/s',
        floor: { name: `peer: ${emmettC.label}`, value: emmettC.append },
        ratio: docketC.append / emmettC.append,
        target: { text: 'ahead of Emmett (ratio > 1)', met: docketC.append > emmettC.append },
      });
      if (!ctx.quick) {
        const [docketN, emmettN] = await lockstep(ctx, w, [docketSide(w, 'NORMAL'), await emmettConnectionSide(w, 'NORMAL')], rounds);
        out.push(...compare(docketN, emmettN, w, rounds, 'both WAL + synchronous=NORMAL; Emmett on one open connection'));
      }
      return out;
    } finally {
      await removeLeftovers();
      console.log = log;
      if (emmettLogged) ctx.log(`(Emmett printed ${emmettLogged} failed-transaction logs, silenced)`);
    }
  },
};
