import { createHash } from 'node:crypto';
import { canonicalJson, sameJson } from '../audit/domain/hash-chain';
import type { RecordedEvent } from '../event-store/event-store.port';
import type { WorkflowDefinition } from '../workflows/domain/workflow-definition';
import type { CampaignLaunched, DeadlineChanged, DeliverableReviewed, DeliverableSubmitted, StageAdvanced } from '../campaigns/domain/campaign-events';
import { stageOf } from '../campaigns/domain/campaign-state';
import { deadlineOf } from '../campaigns/domain/campaign-facts';
import type { Column, SqlDb } from './sql-db';

/**
 * The campaign read models, kept by folding the log into tables:
 * - rm_campaigns: one summary row per campaign (the list, its filters, the due/overdue index);
 * - rm_units: which units take part in which campaign (the unit filter);
 * - rm_deliverables: the per-unit deliverable matrix of every stage a campaign entered
 *   (status missing | submitted | approved | returned), which is also each unit's inbox.
 * Every change of a campaign bumps its row's revision; an event at or below it is skipped,
 * so delivering an event twice changes nothing.
 */
export const CAMPAIGN_READ_MODEL_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS rm_checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rm_definitions (hash TEXT PRIMARY KEY, definition TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rm_campaigns (
     id TEXT PRIMARY KEY, title TEXT NOT NULL, workflow_id TEXT NOT NULL, workflow_version INTEGER NOT NULL,
     definition_hash TEXT NOT NULL, deadlines TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL,
     revision INTEGER NOT NULL, units INTEGER NOT NULL, owed INTEGER NOT NULL, done INTEGER NOT NULL,
     deadline TEXT, stage_entered_at TEXT NOT NULL, launched_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS rm_units (campaign_id TEXT NOT NULL, unit_id TEXT NOT NULL, name TEXT NOT NULL, ord INTEGER NOT NULL, PRIMARY KEY (campaign_id, unit_id))`,
  `CREATE TABLE IF NOT EXISTS rm_deliverables (
     campaign_id TEXT NOT NULL, stage TEXT NOT NULL, unit_id TEXT NOT NULL, deliverable TEXT NOT NULL,
     status TEXT NOT NULL, needs_review INTEGER NOT NULL, at TEXT, version INTEGER NOT NULL,
     PRIMARY KEY (campaign_id, stage, unit_id, deliverable))`,
];

/** The indexes the queries need and the projection does not (it reads by primary key): see dropQueryIndexes. */
export const CAMPAIGN_READ_MODEL_INDEXES: { name: string; ddl: string }[] = [
  { name: 'rm_campaigns_due', ddl: 'ON rm_campaigns (status, deadline)' },
  { name: 'rm_campaigns_stage', ddl: 'ON rm_campaigns (stage, status)' },
  { name: 'rm_campaigns_workflow', ddl: 'ON rm_campaigns (workflow_id, status)' },
  { name: 'rm_campaigns_launched', ddl: 'ON rm_campaigns (launched_at, id)' },
  { name: 'rm_units_unit', ddl: 'ON rm_units (unit_id)' },
  { name: 'rm_deliverables_unit', ddl: 'ON rm_deliverables (unit_id, status)' },
].map(({ name, ddl }) => ({ name, ddl: `CREATE INDEX IF NOT EXISTS ${name} ${ddl}` }));

export const CAMPAIGN_READ_MODEL_TABLES = ['rm_campaigns', 'rm_units', 'rm_deliverables', 'rm_definitions', 'rm_checkpoints'];

export interface CampaignRow {
  id: string;
  title: string;
  workflow_id: string;
  workflow_version: number;
  definition_hash: string;
  deadlines: string;
  stage: string;
  status: string;
  revision: number;
  units: number;
  owed: number;
  done: number;
  deadline: string | null;
  stage_entered_at: string;
  launched_at: string;
  updated_at: string;
}

export interface DeliverableRow {
  campaign_id: string;
  stage: string;
  unit_id: string;
  deliverable: string;
  status: string;
  needs_review: number;
  at: string | null;
  version: number;
}

export const definitionHash = (def: WorkflowDefinition) => createHash('sha256').update(canonicalJson(def)).digest('hex');

/**
 * Workflow definitions by content hash: campaigns share a handful of them. Every launch carries
 * its definition; hashing it (canonical JSON, sha256) costs far more than comparing it with the
 * ones met before under the same id and version, so a definition is hashed once. It is stored in
 * rm_definitions by the first batch that meets it, and counted as stored once that batch has committed.
 */
export class DefinitionCache {
  private readonly byHash = new Map<string, WorkflowDefinition>();
  private readonly stored = new Set<string>();
  /** Definitions met in launches, by id and version, with their hashes. */
  private readonly met = new Map<string, { def: WorkflowDefinition; hash: string }[]>();

  async get(db: SqlDb, hash: string): Promise<WorkflowDefinition> {
    let def = this.byHash.get(hash);
    if (!def) {
      const [row] = await db.all<{ definition: string }>('SELECT definition FROM rm_definitions WHERE hash = ?', [hash]);
      if (!row) throw new Error(`read model has no workflow definition ${hash}`);
      def = JSON.parse(row.definition) as WorkflowDefinition;
      this.byHash.set(hash, def);
      this.stored.add(hash);
    }
    return def;
  }

  /** The definition of `hash` if it is in memory. */
  cached(hash: string): WorkflowDefinition | undefined {
    return this.byHash.get(hash);
  }

  /** The definition's content hash (definitionHash); remembers the definition. */
  hashOf(def: WorkflowDefinition): string {
    const key = `${def.id}\u0000${def.version}`;
    let known = this.met.get(key);
    if (known) for (const k of known) if (k.def === def || sameJson(k.def, def)) return k.hash;
    const hash = definitionHash(def);
    if (!known) this.met.set(key, (known = []));
    // A few variants per id and version at most; past that, hashing each launch is still correct.
    if (known.length < 8) known.push({ def, hash });
    if (!this.byHash.has(hash)) this.byHash.set(hash, def);
    return hash;
  }

  isStored(hash: string): boolean {
    return this.stored.has(hash);
  }

  /** Called once the transaction that inserted these definitions has committed. */
  markStored(hashes: Iterable<string>): void {
    for (const h of hashes) this.stored.add(h);
  }
}

const CAMPAIGN_PREFIX = 'campaign-';
const campaignIdOf = (streamId: string) => streamId.slice(CAMPAIGN_PREFIX.length);

/** Whether a deliverable in this status counts as done for the campaign's progress. */
const isDone = (status: string | undefined, needsReview: number) => status === 'approved' || (status === 'submitted' && !needsReview);

/** One rm_deliverables row as a batch holds it. */
interface Cell {
  stage: string;
  unit: string;
  deliverable: string;
  status: string;
  needsReview: number;
  at: string | null;
  version: number;
  /** Changed (or created) by this batch: to be written. */
  dirty: boolean;
  /** The tables have it (SQLite then writes it with a plain UPDATE). */
  inTables: boolean;
}

/** One campaign's rows as a batch holds them: its summary row and the cells the batch reads or changes. */
interface CampaignWork {
  row: CampaignRow;
  /** `row.deadlines` parsed, once needed. */
  deadlines?: Record<string, string>;
  /**
   * How the summary row differs from what the tables have: not at all, in its counters only
   * (done, revision, updated_at: what a submission or a review changes), or anywhere (or it is
   * not there yet).
   */
  changed: 'no' | 'counters' | 'row';
  /** The tables have a summary row for it (before the batch, or written early by this batch). */
  inTables: boolean;
  /** Unit ids in their order; known for the campaigns launched in the batch and the ones that change stage. */
  unitIds?: string[];
  /** Units to insert (campaigns launched in this batch). */
  newUnits?: { id: string; name: string }[];
  /** Cells by `stage \0 unit \0 deliverable`. For a campaign launched in this batch, all of them; otherwise every one the batch's events touch. */
  cells: Map<string, Cell>;
}

const cellKey = (stage: string, unit: string, deliverable: string) => `${stage}\u0000${unit}\u0000${deliverable}`;

const CAMPAIGN_COLUMNS: Column[] = [
  ['id', 'text'], ['title', 'text'], ['workflow_id', 'text'], ['workflow_version', 'integer'], ['definition_hash', 'text'], ['deadlines', 'text'],
  ['stage', 'text'], ['status', 'text'], ['revision', 'integer'], ['units', 'integer'], ['owed', 'integer'], ['done', 'integer'],
  ['deadline', 'text'], ['stage_entered_at', 'text'], ['launched_at', 'text'], ['updated_at', 'text'],
];
const campaignValues = (row: CampaignRow) => CAMPAIGN_COLUMNS.map(([c]) => row[c as keyof CampaignRow]);
const CAMPAIGN_UPSERT = `ON CONFLICT (id) DO UPDATE SET ${CAMPAIGN_COLUMNS.slice(1).map(([c]) => `${c} = excluded.${c}`).join(', ')}`;
const CELL_COLUMNS: Column[] = [
  ['campaign_id', 'text'], ['stage', 'text'], ['unit_id', 'text'], ['deliverable', 'text'], ['status', 'text'], ['needs_review', 'integer'], ['at', 'text'], ['version', 'integer'],
];
const CELL_UPSERT = 'ON CONFLICT (campaign_id, stage, unit_id, deliverable) DO UPDATE SET status = excluded.status, at = excluded.at, version = excluded.version';
const UNIT_COLUMNS: Column[] = [['campaign_id', 'text'], ['unit_id', 'text'], ['name', 'text'], ['ord', 'integer']];
const DEFINITION_COLUMNS: Column[] = [['hash', 'text'], ['definition', 'text']];

/** Up to this many keys per IN-list query. */
const KEYS_PER_QUERY = 500;

function chunks<T>(items: T[], size = KEYS_PER_QUERY): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Folds a batch of campaign events into the campaign read models in memory, then writes
 * each changed row once: catching up, a campaign's hundreds of events become one summary
 * row, its units and its cells, each written once per batch, instead of a few statements
 * per event. The rows the batch needs from the tables are read first, in a few queries
 * (load), so the fold itself (apply) does no I/O; write() then stores the result. All
 * inside the caller's transaction.
 */
export class CampaignBatch {
  private readonly campaigns = new Map<string, CampaignWork>();
  /** Definitions first met in this batch and not known to be stored: hash → JSON text. */
  private readonly newDefinitions = new Map<string, string>();
  private readonly writtenDefinitions = new Set<string>();

  constructor(
    private readonly db: SqlDb,
    private readonly defs: DefinitionCache,
  ) {}

  /** Reads what the fold of `events` needs from the tables: the summary rows, and the cells, units and definitions of the campaigns that exist. */
  async load(events: RecordedEvent[]): Promise<void> {
    const ids = new Set<string>();
    for (const e of events) if (e.streamId.startsWith(CAMPAIGN_PREFIX)) ids.add(campaignIdOf(e.streamId));
    if (ids.size === 0) return;
    const pg = this.db.dialect === 'postgres';
    for (const part of chunks([...ids])) {
      // Live, a batch is mostly one event: one campaign.
      const rows =
        part.length === 1
          ? await this.db.all<CampaignRow>('SELECT * FROM rm_campaigns WHERE id = ?', part)
          : pg
            ? await this.db.all<CampaignRow>('SELECT * FROM rm_campaigns WHERE id = ANY(?::text[])', [part])
            : await this.db.all<CampaignRow>('SELECT * FROM rm_campaigns WHERE id IN (SELECT value FROM json_each(?))', [JSON.stringify(part)]);
      for (const r of rows) {
        const row = { ...r, workflow_version: Number(r.workflow_version), revision: Number(r.revision), units: Number(r.units), owed: Number(r.owed), done: Number(r.done) };
        this.campaigns.set(row.id, { row, changed: 'no', inTables: true, cells: new Map() });
      }
    }
    if (this.campaigns.size === 0) return;

    // What the batch's events touch in the campaigns that exist: cells by key, whole stages a campaign enters.
    const cellKeys = new Map<string, [string, string, string, string]>();
    const stages = new Map<string, [string, string]>();
    const advancing = new Set<string>();
    for (const e of events) {
      if (!e.streamId.startsWith(CAMPAIGN_PREFIX)) continue;
      const id = campaignIdOf(e.streamId);
      const work = this.campaigns.get(id);
      if (!work || e.revision <= work.row.revision) continue;
      if (e.type === 'DeliverableSubmitted' || e.type === 'DeliverableReviewed') {
        const d = e.data as DeliverableSubmitted['data'];
        cellKeys.set(`${id}\u0000${cellKey(d.stage, d.unit, d.deliverable)}`, [id, d.stage, d.unit, d.deliverable]);
      } else if (e.type === 'StageAdvanced') {
        const d = e.data as StageAdvanced['data'];
        stages.set(`${id}\u0000${d.to}`, [id, d.to]);
        advancing.add(id);
      }
    }
    for (const part of chunks([...stages.values()])) {
      const rows = pg
        ? await this.db.all<DeliverableRow>(
            'SELECT d.* FROM unnest(?::text[], ?::text[]) AS k(c, s) JOIN rm_deliverables d ON d.campaign_id = k.c AND d.stage = k.s',
            [part.map((k) => k[0]), part.map((k) => k[1])],
          )
        : await this.selectEach<DeliverableRow>('SELECT * FROM rm_deliverables WHERE campaign_id = ? AND stage = ?', part);
      this.addCells(rows);
    }
    for (const part of chunks([...cellKeys.values()])) {
      const rows = pg
        ? await this.db.all<DeliverableRow>(
            `SELECT d.* FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS k(c, s, u, dl)
             JOIN rm_deliverables d ON d.campaign_id = k.c AND d.stage = k.s AND d.unit_id = k.u AND d.deliverable = k.dl`,
            [0, 1, 2, 3].map((i) => part.map((k) => k[i])),
          )
        : await this.selectEach<DeliverableRow>('SELECT * FROM rm_deliverables WHERE campaign_id = ? AND stage = ? AND unit_id = ? AND deliverable = ?', part);
      this.addCells(rows);
    }
    for (const part of chunks([...advancing])) {
      const rows = pg
        ? await this.db.all<{ campaign_id: string; unit_id: string }>('SELECT campaign_id, unit_id FROM rm_units WHERE campaign_id = ANY(?::text[]) ORDER BY campaign_id, ord', [part])
        : await this.selectEach<{ campaign_id: string; unit_id: string }>('SELECT campaign_id, unit_id FROM rm_units WHERE campaign_id = ? ORDER BY ord', part.map((id) => [id]));
      for (const id of part) this.campaigns.get(id)!.unitIds = [];
      for (const r of rows) this.campaigns.get(r.campaign_id)!.unitIds!.push(r.unit_id);
      for (const id of part) await this.defs.get(this.db, this.campaigns.get(id)!.row.definition_hash);
    }
  }

  /** SQLite: one cheap prepared query per key beats a join with a JSON table. */
  private async selectEach<T>(sql: string, keys: unknown[][]): Promise<T[]> {
    const out: T[] = [];
    for (const k of keys) for (const r of await this.db.all<T>(sql, k)) out.push(r);
    return out;
  }

  private addCells(rows: DeliverableRow[]): void {
    for (const r of rows) {
      const work = this.campaigns.get(r.campaign_id)!;
      const key = cellKey(r.stage, r.unit_id, r.deliverable);
      if (work.cells.has(key)) continue;
      work.cells.set(key, {
        stage: r.stage,
        unit: r.unit_id,
        deliverable: r.deliverable,
        status: r.status,
        needsReview: Number(r.needs_review),
        at: r.at,
        version: Number(r.version),
        dirty: false,
        inTables: true,
      });
    }
  }

  /**
   * Folds one event (load() must have seen it). Returns whether it changed anything.
   * Every change of a campaign bumps its revision; an event at or below it is skipped.
   */
  apply(event: RecordedEvent): boolean {
    if (!event.streamId.startsWith(CAMPAIGN_PREFIX)) return false;
    const campaignId = campaignIdOf(event.streamId);
    const at: string = event.metadata.occurredAt;
    const work = this.campaigns.get(campaignId);
    if (event.type === 'CampaignLaunched') {
      if (work) return false;
      this.launch(campaignId, event, at);
      return true;
    }
    if (!work || event.revision <= work.row.revision) return false;
    const row = work.row;
    switch (event.type) {
      case 'DeliverableSubmitted': {
        const d = (event as unknown as DeliverableSubmitted).data;
        this.setCell(work, event, d.stage, d.unit, d.deliverable, 'submitted', at, d.version);
        return true;
      }
      case 'DeliverableReviewed': {
        const d = (event as unknown as DeliverableReviewed).data;
        this.setCell(work, event, d.stage, d.unit, d.deliverable, d.decision);
        return true;
      }
      case 'StageAdvanced': {
        const d = (event as unknown as StageAdvanced).data;
        const def = this.defs.cached(row.definition_hash);
        if (!def || !work.unitIds) throw new Error(`campaign ${campaignId} changes stage but its definition or units were not loaded`);
        const stage = stageOf(def, d.to);
        const deliverables = stage.deliverables ?? [];
        for (const dl of deliverables) {
          for (const u of work.unitIds) {
            const key = cellKey(d.to, u, dl.id);
            // Rows of a stage entered before (a workflow may loop back) keep their status.
            if (!work.cells.has(key)) work.cells.set(key, { stage: d.to, unit: u, deliverable: dl.id, status: 'missing', needsReview: dl.review ? 1 : 0, at: null, version: 0, dirty: true, inTables: false });
          }
        }
        let done = 0;
        for (const c of work.cells.values()) if (c.stage === d.to && isDone(c.status, c.needsReview)) done++;
        row.stage = d.to;
        row.stage_entered_at = at;
        row.deadline = stage.final ? null : (deadlineOf(def, this.deadlines(work), d.to, at) ?? null);
        row.owed = deliverables.length * work.unitIds.length;
        row.done = done;
        work.changed = 'row';
        break;
      }
      case 'DeadlineChanged': {
        const d = (event as unknown as DeadlineChanged).data;
        work.deadlines = { ...this.deadlines(work), [d.stage]: d.to };
        row.deadlines = JSON.stringify(work.deadlines);
        if (d.stage === row.stage) row.deadline = d.to;
        work.changed = 'row';
        break;
      }
      case 'CampaignCompleted':
        row.status = 'completed';
        row.deadline = null;
        work.changed = 'row';
        break;
      default:
        // Events the read models do not show still advance the campaign's revision.
        if (work.changed === 'no') work.changed = 'counters';
    }
    row.revision = event.revision;
    row.updated_at = at;
    return true;
  }

  private deadlines(work: CampaignWork): Record<string, string> {
    return (work.deadlines ??= JSON.parse(work.row.deadlines) as Record<string, string>);
  }

  private launch(campaignId: string, event: RecordedEvent, at: string): void {
    const d = (event as unknown as CampaignLaunched).data;
    const hash = this.defs.hashOf(d.workflow);
    if (!this.defs.isStored(hash) && !this.newDefinitions.has(hash) && !this.writtenDefinitions.has(hash)) this.newDefinitions.set(hash, JSON.stringify(d.workflow));
    const deadlines = d.deadlines ?? {};
    const unitIds = d.units.map((u) => u.id);
    const cells = new Map<string, Cell>();
    for (const dl of stageOf(d.workflow, d.stage).deliverables ?? []) {
      for (const u of unitIds) cells.set(cellKey(d.stage, u, dl.id), { stage: d.stage, unit: u, deliverable: dl.id, status: 'missing', needsReview: dl.review ? 1 : 0, at: null, version: 0, dirty: true, inTables: false });
    }
    this.campaigns.set(campaignId, {
      row: {
        id: campaignId,
        title: d.title,
        workflow_id: d.workflow.id,
        workflow_version: d.workflow.version,
        definition_hash: hash,
        deadlines: JSON.stringify(deadlines),
        stage: d.stage,
        status: 'active',
        revision: event.revision,
        units: d.units.length,
        owed: (stageOf(d.workflow, d.stage).deliverables ?? []).length * d.units.length,
        done: 0,
        deadline: deadlineOf(d.workflow, deadlines, d.stage, at) ?? null,
        stage_entered_at: at,
        launched_at: at,
        updated_at: at,
      },
      deadlines,
      changed: 'row',
      inTables: false,
      unitIds,
      newUnits: d.units.map((u) => ({ id: u.id, name: u.name })),
      cells,
    });
  }

  /** Sets one matrix cell and moves the campaign's done count by what the change is worth. A cell that does not exist changes nothing. */
  private setCell(work: CampaignWork, event: RecordedEvent, stage: string, unit: string, deliverable: string, status: string, at?: string, version?: number): void {
    const cell = work.cells.get(cellKey(stage, unit, deliverable));
    if (!cell) return;
    const before = cell.status;
    cell.status = status;
    if (at !== undefined) {
      cell.at = at;
      cell.version = version!;
    }
    cell.dirty = true;
    const row = work.row;
    if (stage === row.stage) row.done += Number(isDone(status, cell.needsReview)) - Number(isDone(before, cell.needsReview));
    row.revision = event.revision;
    row.updated_at = event.metadata.occurredAt;
    if (work.changed === 'no') work.changed = 'counters';
  }

  /**
   * Writes a campaign's summary row now if this batch launched it and has not written it
   * yet: later steps of the same transaction (the delivery outbox) read it.
   */
  async writeSummaryNow(campaignId: string): Promise<void> {
    const work = this.campaigns.get(campaignId);
    if (!work || work.inTables) return;
    await this.writeDefinitions();
    await this.db.insertRows('rm_campaigns', CAMPAIGN_COLUMNS, [campaignValues(work.row)], CAMPAIGN_UPSERT);
    work.inTables = true;
    work.changed = 'no';
  }

  private async writeDefinitions(): Promise<void> {
    if (this.newDefinitions.size === 0) return;
    await this.db.insertRows('rm_definitions', DEFINITION_COLUMNS, [...this.newDefinitions], 'ON CONFLICT (hash) DO NOTHING');
    for (const h of this.newDefinitions.keys()) this.writtenDefinitions.add(h);
    this.newDefinitions.clear();
  }

  /**
   * Writes every row the batch changed, each once: new rows and PostgreSQL's in a few
   * multi-row upserts. SQLite maintains every index whose columns an upsert assigns, so the
   * rows it already has are written with a plain UPDATE of what changed: what following the
   * log live mostly is (a submission: one cell and the campaign's counters).
   */
  async write(): Promise<void> {
    await this.writeDefinitions();
    const sqlite = this.db.dialect === 'sqlite';
    const summaries: unknown[][] = [];
    const counters: unknown[][] = [];
    const units: unknown[][] = [];
    const cells: unknown[][] = [];
    const cellUpdates: unknown[][] = [];
    for (const [id, work] of this.campaigns) {
      if (work.changed === 'counters' && sqlite) counters.push([work.row.done, work.row.revision, work.row.updated_at, id]);
      else if (work.changed !== 'no') summaries.push(campaignValues(work.row));
      if (work.newUnits) {
        work.newUnits.forEach((u, ord) => units.push([id, u.id, u.name, ord]));
        work.newUnits = undefined;
      }
      for (const c of work.cells.values()) {
        if (!c.dirty) continue;
        if (c.inTables && sqlite) cellUpdates.push([c.status, c.at, c.version, id, c.stage, c.unit, c.deliverable]);
        else cells.push([id, c.stage, c.unit, c.deliverable, c.status, c.needsReview, c.at, c.version]);
      }
    }
    await this.db.insertRows('rm_campaigns', CAMPAIGN_COLUMNS, summaries, CAMPAIGN_UPSERT);
    for (const c of counters) await this.db.run('UPDATE rm_campaigns SET done = ?, revision = ?, updated_at = ? WHERE id = ?', c);
    await this.db.insertRows('rm_units', UNIT_COLUMNS, units, 'ON CONFLICT (campaign_id, unit_id) DO NOTHING');
    await this.db.insertRows('rm_deliverables', CELL_COLUMNS, cells, CELL_UPSERT);
    for (const c of cellUpdates) await this.db.run('UPDATE rm_deliverables SET status = ?, at = ?, version = ? WHERE campaign_id = ? AND stage = ? AND unit_id = ? AND deliverable = ?', c);
  }

  /** The batch's transaction has committed: its definitions are stored. */
  committed(): void {
    this.defs.markStored(this.writtenDefinitions);
  }
}
