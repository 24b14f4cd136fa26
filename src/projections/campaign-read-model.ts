import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/domain/hash-chain';
import type { RecordedEvent } from '../event-store/event-store.port';
import type { WorkflowDefinition } from '../workflows/domain/workflow-definition';
import type { CampaignLaunched, DeadlineChanged, DeliverableReviewed, DeliverableSubmitted, StageAdvanced } from '../campaigns/domain/campaign-events';
import { stageOf } from '../campaigns/domain/campaign-state';
import { deadlineOf } from '../campaigns/domain/campaign-facts';
import type { SqlDb } from './sql-db';

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
  `CREATE INDEX IF NOT EXISTS rm_campaigns_due ON rm_campaigns (status, deadline)`,
  `CREATE INDEX IF NOT EXISTS rm_campaigns_stage ON rm_campaigns (stage, status)`,
  `CREATE INDEX IF NOT EXISTS rm_campaigns_workflow ON rm_campaigns (workflow_id, status)`,
  `CREATE INDEX IF NOT EXISTS rm_campaigns_launched ON rm_campaigns (launched_at, id)`,
  `CREATE TABLE IF NOT EXISTS rm_units (campaign_id TEXT NOT NULL, unit_id TEXT NOT NULL, name TEXT NOT NULL, ord INTEGER NOT NULL, PRIMARY KEY (campaign_id, unit_id))`,
  `CREATE INDEX IF NOT EXISTS rm_units_unit ON rm_units (unit_id)`,
  `CREATE TABLE IF NOT EXISTS rm_deliverables (
     campaign_id TEXT NOT NULL, stage TEXT NOT NULL, unit_id TEXT NOT NULL, deliverable TEXT NOT NULL,
     status TEXT NOT NULL, needs_review INTEGER NOT NULL, at TEXT, version INTEGER NOT NULL,
     PRIMARY KEY (campaign_id, stage, unit_id, deliverable))`,
  `CREATE INDEX IF NOT EXISTS rm_deliverables_unit ON rm_deliverables (unit_id, status)`,
];

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

/** Workflow definitions by content hash: campaigns share a handful of them. */
export class DefinitionCache {
  private readonly byHash = new Map<string, WorkflowDefinition>();

  async get(db: SqlDb, hash: string): Promise<WorkflowDefinition> {
    let def = this.byHash.get(hash);
    if (!def) {
      const [row] = await db.all<{ definition: string }>('SELECT definition FROM rm_definitions WHERE hash = ?', [hash]);
      if (!row) throw new Error(`read model has no workflow definition ${hash}`);
      def = JSON.parse(row.definition) as WorkflowDefinition;
      this.byHash.set(hash, def);
    }
    return def;
  }

  async put(db: SqlDb, def: WorkflowDefinition): Promise<string> {
    const hash = definitionHash(def);
    if (!this.byHash.has(hash)) {
      await db.run('INSERT INTO rm_definitions (hash, definition) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING', [hash, JSON.stringify(def)]);
      this.byHash.set(hash, def);
    }
    return hash;
  }
}

const campaignIdOf = (streamId: string) => streamId.slice('campaign-'.length);

async function insertStageRows(db: SqlDb, def: WorkflowDefinition, campaignId: string, stageId: string, unitIds: string[]): Promise<number> {
  const deliverables = stageOf(def, stageId).deliverables ?? [];
  for (const d of deliverables) {
    for (const u of unitIds) {
      await db.run(
        `INSERT INTO rm_deliverables (campaign_id, stage, unit_id, deliverable, status, needs_review, at, version)
         VALUES (?, ?, ?, ?, 'missing', ?, NULL, 0) ON CONFLICT (campaign_id, stage, unit_id, deliverable) DO NOTHING`,
        [campaignId, stageId, u, d.id, d.review ? 1 : 0],
      );
    }
  }
  return deliverables.length * unitIds.length;
}

/** Whether a deliverable in this status counts as done for the campaign's progress. */
const isDone = (status: string | undefined, needsReview: number) => status === 'approved' || (status === 'submitted' && !needsReview);

/** Sets one matrix cell and moves the campaign's done count by what the change is worth; bumps the revision. */
async function setCell(db: SqlDb, row: CampaignRow, event: RecordedEvent, stage: string, unit: string, deliverable: string, status: string, at?: string, version?: number) {
  const [cell] = await db.all<{ status: string; needs_review: number }>(
    'SELECT status, needs_review FROM rm_deliverables WHERE campaign_id = ? AND stage = ? AND unit_id = ? AND deliverable = ?',
    [row.id, stage, unit, deliverable],
  );
  if (!cell) return;
  if (at !== undefined) {
    await db.run('UPDATE rm_deliverables SET status = ?, at = ?, version = ? WHERE campaign_id = ? AND stage = ? AND unit_id = ? AND deliverable = ?', [status, at, version, row.id, stage, unit, deliverable]);
  } else {
    await db.run('UPDATE rm_deliverables SET status = ? WHERE campaign_id = ? AND stage = ? AND unit_id = ? AND deliverable = ?', [status, row.id, stage, unit, deliverable]);
  }
  const delta = stage === row.stage ? Number(isDone(status, Number(cell.needs_review))) - Number(isDone(cell.status, Number(cell.needs_review))) : 0;
  await db.run('UPDATE rm_campaigns SET done = done + ?, revision = ?, updated_at = ? WHERE id = ?', [delta, event.revision, event.metadata.occurredAt, row.id]);
}

/** Applies one campaign event inside the caller's transaction. Returns whether it changed anything. */
export async function applyCampaignEvent(db: SqlDb, defs: DefinitionCache, event: RecordedEvent): Promise<boolean> {
  if (!event.streamId.startsWith('campaign-')) return false;
  const campaignId = campaignIdOf(event.streamId);
  const at: string = event.metadata.occurredAt;
  const [row] = await db.all<CampaignRow>('SELECT * FROM rm_campaigns WHERE id = ?', [campaignId]);
  if (event.type === 'CampaignLaunched') {
    if (row) return false;
    const d = (event as unknown as CampaignLaunched).data;
    const hash = await defs.put(db, d.workflow);
    const deadline = deadlineOf(d.workflow, d.deadlines ?? {}, d.stage, at) ?? null;
    let ord = 0;
    for (const u of d.units) {
      await db.run('INSERT INTO rm_units (campaign_id, unit_id, name, ord) VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id, unit_id) DO NOTHING', [campaignId, u.id, u.name, ord++]);
    }
    const owed = await insertStageRows(db, d.workflow, campaignId, d.stage, d.units.map((u) => u.id));
    await db.run(
      `INSERT INTO rm_campaigns (id, title, workflow_id, workflow_version, definition_hash, deadlines, stage, status, revision, units, owed, done, deadline, stage_entered_at, launched_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, 0, ?, ?, ?, ?)`,
      [campaignId, d.title, d.workflow.id, d.workflow.version, hash, JSON.stringify(d.deadlines ?? {}), d.stage, event.revision, d.units.length, owed, deadline, at, at, at],
    );
    return true;
  }
  if (!row || event.revision <= row.revision) return false;
  switch (event.type) {
    case 'DeliverableSubmitted': {
      const d = (event as unknown as DeliverableSubmitted).data;
      await setCell(db, row, event, d.stage, d.unit, d.deliverable, 'submitted', at, d.version);
      return true;
    }
    case 'DeliverableReviewed': {
      const d = (event as unknown as DeliverableReviewed).data;
      await setCell(db, row, event, d.stage, d.unit, d.deliverable, d.decision);
      return true;
    }
    case 'StageAdvanced': {
      const d = (event as unknown as StageAdvanced).data;
      const def = await defs.get(db, row.definition_hash);
      const units = await db.all<{ unit_id: string }>('SELECT unit_id FROM rm_units WHERE campaign_id = ? ORDER BY ord', [campaignId]);
      const owed = await insertStageRows(db, def, campaignId, d.to, units.map((u) => u.unit_id));
      // Rows of a stage entered before (a workflow may loop back) keep their status: count them.
      const [{ n }] = await db.all<{ n: number | string }>(
        `SELECT COUNT(*) AS n FROM rm_deliverables WHERE campaign_id = ? AND stage = ? AND (status = 'approved' OR (status = 'submitted' AND needs_review = 0))`,
        [campaignId, d.to],
      );
      const deadline = stageOf(def, d.to).final ? null : (deadlineOf(def, JSON.parse(row.deadlines), d.to, at) ?? null);
      await db.run('UPDATE rm_campaigns SET stage = ?, stage_entered_at = ?, deadline = ?, owed = ?, done = ?, revision = ?, updated_at = ? WHERE id = ?', [
        d.to,
        at,
        deadline,
        owed,
        Number(n),
        event.revision,
        at,
        campaignId,
      ]);
      return true;
    }
    case 'DeadlineChanged': {
      const d = (event as unknown as DeadlineChanged).data;
      const deadlines = { ...JSON.parse(row.deadlines), [d.stage]: d.to };
      const deadline = d.stage === row.stage ? d.to : row.deadline;
      await db.run('UPDATE rm_campaigns SET deadlines = ?, deadline = ?, revision = ?, updated_at = ? WHERE id = ?', [JSON.stringify(deadlines), deadline, event.revision, at, campaignId]);
      return true;
    }
    case 'CampaignCompleted':
      await db.run(`UPDATE rm_campaigns SET status = 'completed', deadline = NULL, revision = ?, updated_at = ? WHERE id = ?`, [event.revision, at, campaignId]);
      return true;
    default:
      // Events the read models do not show still advance the campaign's revision.
      await db.run('UPDATE rm_campaigns SET revision = ?, updated_at = ? WHERE id = ?', [event.revision, at, campaignId]);
      return true;
  }
}
