import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { CurrentActor } from '../auth/auth.guard';
import { Roles } from '../auth/roles.decorator';
import { Actor, DomainError } from '../common/domain/domain-error';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { ID_PATTERN } from '../campaigns/campaign.dto';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { DefinitionCache } from '../projections/campaign-read-model';
import { Projector, READ_MODEL_DB } from '../projections/projector';
import type { SqlDb } from '../projections/sql-db';
import { stageOf } from '../campaigns/domain/campaign-state';
import type { ReminderRow } from './reminder-read-model';

class RemindersQuery {
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,63}$/, { message: 'campaign must be a campaign id' })
  campaign?: string;

  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'unit must be a unit id' })
  unit?: string;

  @IsOptional()
  @IsIn(['before', 'due', 'overdue', 'escalation'])
  level?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;
}

/** Formats an instant for people in the bureau's timezone: 2013-10-31 10:00. */
export function localTime(iso: string, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

@ApiTags('reminders')
@ApiBearerAuth()
@Controller('api/reminders')
export class RemindersController {
  private readonly defs = new DefinitionCache();

  constructor(
    @Inject(READ_MODEL_DB) private readonly db: SqlDb,
    @Inject(DOCKET_CONFIG) private readonly config: DocketConfig,
    private readonly projector: Projector,
    private readonly repo: CampaignRepository,
  ) {}

  @Get()
  @Roles('bureau', 'auditor', 'unit')
  @ApiOperation({ summary: 'Reminders issued to late units (units: their own), newest last; ?campaign=&unit=&level=&after=<position>&limit=' })
  async list(@Query() q: RemindersQuery, @CurrentActor() actor: Actor) {
    if (actor.role === 'unit' && q.unit && q.unit !== actor.unit) throw new DomainError('FORBIDDEN', `a ${actor.unit} user sees only its own reminders`);
    await this.projector.waitFor(this.repo.lastPosition);
    const where = ['position > ?'];
    const params: unknown[] = [q.after ?? 0];
    const unit = actor.role === 'unit' ? actor.unit : q.unit;
    if (unit) {
      where.push('unit_id = ?');
      params.push(unit);
    }
    if (q.campaign) {
      where.push('campaign_id = ?');
      params.push(q.campaign);
    }
    if (q.level) {
      where.push('level = ?');
      params.push(q.level);
    }
    const limit = q.limit ?? 100;
    const rows = await this.db.all<ReminderRow & { title: string; definition_hash: string }>(
      `SELECT r.*, c.title, c.definition_hash FROM rm_reminders r JOIN rm_campaigns c ON c.id = r.campaign_id
       WHERE ${where.map((w) => `r.${w}`).join(' AND ')} ORDER BY r.position LIMIT ?`,
      [...params, limit],
    );
    const tz = this.config.timezone;
    const items = [];
    for (const r of rows) {
      const def = await this.defs.get(this.db, r.definition_hash);
      const stage = stageOf(def, r.stage);
      const owed: { id: string; status: string }[] = JSON.parse(r.deliverables);
      const titles = owed.map((d) => stage.deliverables?.find((x) => x.id === d.id)?.title ?? { zh: d.id, en: d.id });
      const local = localTime(r.deadline, tz);
      const zhWhat = titles.map((t) => t.zh).join('、');
      const enWhat = titles.map((t) => t.en).join(', ');
      items.push({
        id: r.id,
        campaign: r.campaign_id,
        campaignTitle: r.title,
        stage: r.stage,
        unit: r.unit_id,
        level: r.level,
        occurrence: Number(r.occurrence),
        dueAt: r.due_at,
        issuedAt: r.issued_at,
        late: Boolean(Number(r.late)),
        deadline: r.deadline,
        deadlineLocal: `${local} (${tz})`,
        deliverables: owed,
        message:
          r.level === 'escalation'
            ? { zh: `${r.unit_id} 逾期未提交${zhWhat}（截止 ${local}），已报领导小组。`, en: `${r.unit_id} has not submitted ${enWhat} (due ${local}); escalated to the leading group.` }
            : r.level === 'before'
              ? { zh: `请于 ${local} 前提交${zhWhat}。`, en: `Please submit ${enWhat} by ${local}.` }
              : { zh: `${zhWhat}已于 ${local} 到期，请尽快提交。`, en: `${enWhat} was due ${local}; please submit it now.` },
        position: Number(r.position),
      });
    }
    return { items, next: items.length === limit ? items[items.length - 1].position : null };
  }
}
