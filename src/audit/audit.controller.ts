import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { Roles } from '../auth/roles.decorator';
import { CLOCK, Clock } from '../common/clock';
import { Projector, READ_MODEL_DB } from '../projections/projector';
import type { SqlDb } from '../projections/sql-db';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { AuditReport, runAudit } from './audit-check';
import { auditChecks } from './audit-checks';

export class AuditVerifyQuery {
  @ApiPropertyOptional({ description: 'Only this campaign (its stream); the whole log when absent', example: 'nanming-2013-three-searches' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,63}$/, { message: 'campaign must be a campaign id' })
  campaign?: string;
}

/** The global verify over HTTP: the same checks as `docket verify --all`, on the service's own store. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('api/audit')
export class AuditController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DOCKET_CONFIG) private readonly config: DocketConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(READ_MODEL_DB) private readonly readModels: SqlDb,
    private readonly projector: Projector,
    private readonly repo: CampaignRepository,
  ) {}

  @Get('verify')
  @Roles('auditor', 'bureau')
  @ApiOperation({
    summary: 'Verify the whole log (or one campaign): every hash chain, stream head and replay, and no event missing from the global order',
  })
  async verify(@Query() q: AuditVerifyQuery): Promise<AuditReport> {
    await this.projector.waitFor(this.repo.lastPosition);
    return runAudit(this.store, auditChecks({ storeKind: this.config.store, readModels: this.readModels }), {
      storeKind: this.config.store,
      now: this.clock.now(),
      scope: q.campaign ? { campaigns: [q.campaign] } : undefined,
    });
  }
}
