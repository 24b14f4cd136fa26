import type { EventStore } from '../event-store/event-store.port';
import { campaignStream, RecordedCampaignEvent } from '../campaigns/domain/campaign-events';
import { replay, stageOf, CampaignState } from '../campaigns/domain/campaign-state';
import { stageDeadline } from '../campaigns/domain/campaign-facts';
import type { CampaignRow, DeliverableRow } from './campaign-read-model';
import { readCheckpoint } from './projection';
import type { SqlDb } from './sql-db';

export interface ReadModelDifference {
  campaign: string;
  table: 'rm_campaigns' | 'rm_units' | 'rm_deliverables' | 'rm_checkpoints';
  /** The row's key and field, e.g. "stage" or "branch-17/rectification-plan.status". */
  field: string;
  expected: unknown;
  actual: unknown;
}

export interface ConsistencyReport {
  ok: boolean;
  campaigns: number;
  checkpoint: number;
  head: number;
  differences: ReadModelDifference[];
}

/** What the read-model rows of one campaign must be, computed from the pure replay of its stream. */
export function expectedRows(state: CampaignState) {
  const campaign = {
    id: state.id,
    title: state.title,
    workflow_id: state.definition.id,
    workflow_version: state.definition.version,
    stage: state.stage,
    status: state.status,
    revision: state.revision,
    units: state.units.length,
    deadline: state.status === 'active' ? (stageDeadline(state) ?? null) : null,
    stage_entered_at: state.stageEnteredAt,
    launched_at: state.launchedAt,
    owed: 0,
    done: 0,
  };
  const deliverables: Omit<DeliverableRow, 'campaign_id'>[] = [];
  const visited = [...new Set(state.stages.map((v) => v.stage))];
  for (const stageId of visited) {
    for (const d of stageOf(state.definition, stageId).deliverables ?? []) {
      for (const u of state.units) {
        const rec = state.deliverables[stageId]?.[u.id]?.[d.id];
        deliverables.push({ stage: stageId, unit_id: u.id, deliverable: d.id, status: rec?.status ?? 'missing', needs_review: d.review ? 1 : 0, at: rec?.at ?? null, version: rec?.version ?? 0 });
        if (stageId === state.stage) {
          campaign.owed += 1;
          if (rec && (rec.status === 'approved' || (rec.status === 'submitted' && !d.review))) campaign.done += 1;
        }
      }
    }
  }
  return { campaign, units: state.units.map((u, ord) => ({ unit_id: u.id, name: u.name, ord })), deliverables };
}

const norm = (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);

/**
 * Compares every read model with the pure replay of the log and names each difference
 * (campaign, table, row and field, expected and actual).
 */
export async function checkReadModels(
  store: EventStore,
  db: SqlDb,
  onProgress: (done: number, total: number) => void = () => undefined,
  options: { /** Compare with the log only up to the read models' checkpoint, so a projector that is merely behind is not a difference. */ upToCheckpoint?: boolean } = {},
): Promise<ConsistencyReport> {
  const differences: ReadModelDifference[] = [];
  const limit = options.upToCheckpoint ? await readCheckpoint(db) : Number.MAX_SAFE_INTEGER;
  const streams = await store.listStreams('campaign-');
  const ids = new Set<string>();
  let head = 0;
  let n = 0;
  for (const s of streams) {
    const id = s.streamId.slice('campaign-'.length);
    ids.add(id);
    const events = (await store.readStream(campaignStream(id))).filter((e) => e.position <= limit);
    for (const e of events) if (e.position > head) head = e.position;
    const state = replay(events as unknown as RecordedCampaignEvent[]);
    if (!state) {
      ids.delete(id); // launched after the checkpoint: not projected yet
      continue;
    }
    onProgress(++n, streams.length);
    if (!state) continue;
    const want = expectedRows(state);
    const [row] = await db.all<CampaignRow>('SELECT * FROM rm_campaigns WHERE id = ?', [id]);
    if (!row) {
      differences.push({ campaign: id, table: 'rm_campaigns', field: '(row)', expected: 'present', actual: 'missing' });
      continue;
    }
    for (const [k, v] of Object.entries(want.campaign)) {
      const actual = norm((row as any)[k]);
      if (actual !== v) differences.push({ campaign: id, table: 'rm_campaigns', field: k, expected: v, actual });
    }
    const units = await db.all<{ unit_id: string; name: string; ord: number }>('SELECT unit_id, name, ord FROM rm_units WHERE campaign_id = ? ORDER BY ord', [id]);
    const unitKey = (u: { unit_id: string; name: string; ord: number | string }) => `${u.unit_id}|${u.name}|${Number(u.ord)}`;
    const haveUnits = new Set(units.map(unitKey));
    for (const u of want.units) if (!haveUnits.has(unitKey(u))) differences.push({ campaign: id, table: 'rm_units', field: u.unit_id, expected: u, actual: 'missing' });
    if (units.length !== want.units.length) differences.push({ campaign: id, table: 'rm_units', field: '(count)', expected: want.units.length, actual: units.length });
    const cells = await db.all<DeliverableRow>('SELECT * FROM rm_deliverables WHERE campaign_id = ?', [id]);
    const byKey = new Map(cells.map((c) => [`${c.stage}/${c.unit_id}/${c.deliverable}`, c]));
    for (const w of want.deliverables) {
      const key = `${w.stage}/${w.unit_id}/${w.deliverable}`;
      const have = byKey.get(key);
      byKey.delete(key);
      if (!have) {
        differences.push({ campaign: id, table: 'rm_deliverables', field: key, expected: w.status, actual: 'missing row' });
        continue;
      }
      for (const f of ['status', 'needs_review', 'at', 'version'] as const) {
        const actual = norm(have[f]);
        if (actual !== w[f]) differences.push({ campaign: id, table: 'rm_deliverables', field: `${key}.${f}`, expected: w[f], actual });
      }
    }
    for (const key of byKey.keys()) differences.push({ campaign: id, table: 'rm_deliverables', field: key, expected: 'no row', actual: 'present' });
  }
  for (const r of await db.all<{ id: string }>('SELECT id FROM rm_campaigns')) {
    if (!ids.has(r.id)) differences.push({ campaign: r.id, table: 'rm_campaigns', field: '(row)', expected: 'missing', actual: 'present' });
  }
  const checkpoint = await readCheckpoint(db);
  if (checkpoint < head) differences.push({ campaign: '*', table: 'rm_checkpoints', field: 'position', expected: head, actual: checkpoint });
  return { ok: differences.length === 0, campaigns: ids.size, checkpoint, head, differences };
}
