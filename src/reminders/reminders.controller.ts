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
import { ReminderScheduler } from './reminder-scheduler';
import type { SqlDb } from '../projections/sql-db';
import { reminderText, reminderTitles } from '../notifications/reminder-message';
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
    private readonly scheduler: ReminderScheduler,
  ) {}

  @Get()
  @Roles('bureau', 'auditor', 'unit')
  @ApiOperation({ summary: 'Reminders issued to late units (units: their own), newest last; ?campaign=&unit=&level=&after=<position>&limit=' })
  async list(@Query() q: RemindersQuery, @CurrentActor() actor: Actor) {
    if (actor.role === 'unit' && q.unit && q.unit !== actor.unit) throw new DomainError('FORBIDDEN', `a ${actor.unit} user sees only its own reminders`);
    // Read our own writes: the submissions this instance took and the reminders its scheduler issued.
    await this.projector.waitFor(Math.max(this.repo.lastPosition, this.scheduler.lastPosition));
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
    // Worded by src/notifications/reminder-message.ts, as webhooks and e-mails are.
    for (const r of rows) {
      const def = await this.defs.get(this.db, r.definition_hash);
      const owed: { id: string; status: string }[] = JSON.parse(r.deliverables);
      const text = reminderText({ unit: r.unit_id, level: r.level, deadline: r.deadline, deliverables: owed }, reminderTitles(def, r.stage), tz);
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
        deadlineLocal: text.deadlineLocal,
        deliverables: owed,
        message: text.message,
        position: Number(r.position),
      });
    }
    return { items, next: items.length === limit ? items[items.length - 1].position : null };
  }
}
