import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, Clock } from '../common/clock';
import { Actor, DomainError } from '../common/domain/domain-error';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { CampaignRow, DefinitionCache, DeliverableRow } from './campaign-read-model';
import { Projector, READ_MODEL_DB } from './projector';
import type { SqlDb } from './sql-db';

export interface ListFilter {
  stage?: string;
  workflow?: string;
  status?: 'active' | 'completed';
  overdue?: boolean;
  unit?: string;
  limit: number;
  offset: number;
}

export function summaryOf(row: CampaignRow, now: Date) {
  return {
    id: row.id,
    title: row.title,
    workflow: { id: row.workflow_id, version: Number(row.workflow_version) },
    stage: row.stage,
    status: row.status,
    revision: Number(row.revision),
    units: Number(row.units),
    deliverables: { owed: Number(row.owed), done: Number(row.done) },
    deadline: row.deadline,
    overdue: row.status === 'active' && row.deadline !== null && row.deadline < now.toISOString(),
    launchedAt: row.launched_at,
  };
}

/**
 * Lists, matrices and inboxes answered from the read models. Before answering, a query
 * waits (briefly) until the projector has caught up with this process's own last write,
 * so a client reads its writes.
 */
@Injectable()
export class ReadModelQueries {
  private readonly defs = new DefinitionCache();

  constructor(
    @Inject(READ_MODEL_DB) private readonly db: SqlDb,
    private readonly projector: Projector,
    private readonly repo: CampaignRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private async fresh(): Promise<void> {
    await this.projector.waitFor(this.repo.lastPosition);
  }

  async list(filter: ListFilter, actor: Actor) {
    await this.fresh();
    const now = this.clock.now();
    const where: string[] = [];
    const params: unknown[] = [];
    const unit = actor.role === 'unit' ? actor.unit! : filter.unit;
    if (actor.role === 'unit' && filter.unit && filter.unit !== actor.unit) return { total: 0, limit: filter.limit, offset: filter.offset, items: [] };
    if (unit) {
      where.push('id IN (SELECT campaign_id FROM rm_units WHERE unit_id = ?)');
      params.push(unit);
    }
    if (filter.stage) {
      where.push('stage = ?');
      params.push(filter.stage);
    }
    if (filter.workflow) {
      where.push('workflow_id = ?');
      params.push(filter.workflow);
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.overdue === true) {
      where.push("status = 'active' AND deadline IS NOT NULL AND deadline < ?");
      params.push(now.toISOString());
    } else if (filter.overdue === false) {
      where.push("NOT (status = 'active' AND deadline IS NOT NULL AND deadline < ?)");
      params.push(now.toISOString());
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [{ n }] = await this.db.all<{ n: number | string }>(`SELECT COUNT(*) AS n FROM rm_campaigns ${clause}`, params);
    const rows = await this.db.all<CampaignRow>(`SELECT * FROM rm_campaigns ${clause} ORDER BY launched_at, id LIMIT ? OFFSET ?`, [...params, filter.limit, filter.offset]);
    return { total: Number(n), limit: filter.limit, offset: filter.offset, items: rows.map((r) => summaryOf(r, now)) };
  }

  private async campaignRow(id: string, actor: Actor): Promise<CampaignRow> {
    await this.fresh();
    const [row] = await this.db.all<CampaignRow>('SELECT * FROM rm_campaigns WHERE id = ?', [id]);
    if (row && actor.role === 'unit') {
      const [member] = await this.db.all('SELECT 1 FROM rm_units WHERE campaign_id = ? AND unit_id = ?', [id, actor.unit]);
      if (member) return row;
    } else if (row) return row;
    throw new DomainError('CAMPAIGN_NOT_FOUND', `no campaign ${id}`, { id });
  }

  /** The unit × deliverable matrix of a stage (default: the current one). */
  async matrix(id: string, actor: Actor, stage?: string) {
    const row = await this.campaignRow(id, actor);
    const s = stage ?? row.stage;
    if (s !== row.stage) {
      // A stage the campaign's workflow has but did not reach yet has an empty matrix; one it does not have is an error.
      const def = await this.defs.get(this.db, row.definition_hash);
      if (!def.stages.some((x) => x.id === s)) {
        throw new DomainError('UNKNOWN_STAGE', `workflow ${def.id} has no stage "${s}"`, { stage: s, stages: def.stages.map((x) => x.id) });
      }
    }
    const params: unknown[] = [id, s];
    let unitClause = '';
    if (actor.role === 'unit') {
      unitClause = ' AND d.unit_id = ?';
      params.push(actor.unit);
    }
    const cells = await this.db.all<DeliverableRow & { name: string }>(
      `SELECT d.*, u.name FROM rm_deliverables d JOIN rm_units u ON u.campaign_id = d.campaign_id AND u.unit_id = d.unit_id
       WHERE d.campaign_id = ? AND d.stage = ?${unitClause} ORDER BY u.ord, d.deliverable`,
      params,
    );
    const units = new Map<string, { id: string; name: string; deliverables: Record<string, { status: string; at: string | null; version: number }> }>();
    const deliverables = new Set<string>();
    for (const c of cells) {
      deliverables.add(c.deliverable);
      const u = units.get(c.unit_id) ?? { id: c.unit_id, name: c.name, deliverables: {} };
      u.deliverables[c.deliverable] = { status: c.status, at: c.at, version: Number(c.version) };
      units.set(c.unit_id, u);
    }
    return { campaign: id, stage: s, revision: Number(row.revision), deliverables: [...deliverables].sort(), units: [...units.values()] };
  }

  /** What a unit still owes: missing or returned deliverables of the current stage of its active campaigns. */
  async inbox(unit: string) {
    await this.fresh();
    const now = this.clock.now().toISOString();
    const rows = await this.db.all<{ campaign_id: string; title: string; stage: string; deliverable: string; status: string; deadline: string | null }>(
      `SELECT d.campaign_id, c.title, d.stage, d.deliverable, d.status, c.deadline
       FROM rm_deliverables d JOIN rm_campaigns c ON c.id = d.campaign_id AND c.stage = d.stage
       WHERE d.unit_id = ? AND c.status = 'active' AND d.status IN ('missing', 'returned')
       ORDER BY CASE WHEN c.deadline IS NULL THEN 1 ELSE 0 END, c.deadline, d.campaign_id, d.deliverable`,
      [unit],
    );
    return {
      unit,
      items: rows.map((r) => ({
        campaign: r.campaign_id,
        title: r.title,
        stage: r.stage,
        deliverable: r.deliverable,
        status: r.status,
        deadline: r.deadline,
        overdue: r.deadline !== null && r.deadline < now,
      })),
    };
  }
}
