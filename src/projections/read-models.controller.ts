import { Controller, Get, MessageEvent, Param, Query, Req, Sse } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { filter, from, map, merge, Observable, concatMap } from 'rxjs';
import { CurrentActor } from '../auth/auth.guard';
import { Roles } from '../auth/roles.decorator';
import { Actor, DomainError } from '../common/domain/domain-error';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { CampaignQueries } from '../campaigns/campaign.queries';
import { ID_PATTERN } from '../campaigns/campaign.dto';
import { Projector } from './projector';
import { ReadModelQueries } from './read-model.queries';

class MatrixQuery {
  @IsOptional()
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,63}$/, { message: 'stage must be a stage id' })
  stage?: string;
}

class InboxQuery {
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: 'unit must be a unit id' })
  unit?: string;
}

const CAMPAIGN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Read-model endpoints: the deliverable matrix, each unit's inbox, and live updates (Server-Sent Events). */
@ApiTags('read models')
@ApiBearerAuth()
@Controller('api')
export class ReadModelsController {
  constructor(
    private readonly queries: ReadModelQueries,
    private readonly campaigns: CampaignQueries,
    private readonly repo: CampaignRepository,
    private readonly projector: Projector,
  ) {}

  @Get('campaigns/:id/matrix')
  @Roles('bureau', 'auditor', 'unit')
  @ApiOperation({ summary: 'The unit × deliverable matrix of a stage (default: the current one), from the read model' })
  matrix(@Param('id') id: string, @Query() q: MatrixQuery, @CurrentActor() actor: Actor) {
    if (!CAMPAIGN_ID.test(id)) throw new DomainError('CAMPAIGN_NOT_FOUND', 'no such campaign');
    return this.queries.matrix(id, actor, q.stage);
  }

  @Get('inbox')
  @Roles('unit', 'bureau', 'auditor')
  @ApiOperation({ summary: 'What a unit still owes in its active campaigns (units: their own; others: ?unit=)' })
  inbox(@Query() q: InboxQuery, @CurrentActor() actor: Actor) {
    if (actor.role === 'unit') {
      if (q.unit && q.unit !== actor.unit) throw new DomainError('FORBIDDEN', `a ${actor.unit} user sees only its own inbox`);
      return this.queries.inbox(actor.unit!);
    }
    if (!q.unit) throw new DomainError('INVALID_QUERY', 'give ?unit=<unit id>');
    return this.queries.inbox(q.unit);
  }

  @Sse('campaigns/stream')
  @Roles('bureau', 'auditor')
  @ApiOperation({ summary: 'Server-Sent Events: a summary change for every campaign event the read models applied' })
  summaries(): Observable<MessageEvent> {
    return this.projector.changes.pipe(map((c) => ({ id: String(c.position), type: 'campaign', data: c })));
  }

  @Sse('campaigns/:id/stream')
  @Roles('bureau', 'auditor', 'unit')
  @ApiOperation({ summary: 'Server-Sent Events: every new event of one campaign (resumes after Last-Event-ID, a revision)' })
  async stream(@Param('id') id: string, @CurrentActor() actor: Actor, @Req() req: { headers: Record<string, string | undefined> }): Promise<Observable<MessageEvent>> {
    if (!CAMPAIGN_ID.test(id)) throw new DomainError('CAMPAIGN_NOT_FOUND', 'no such campaign');
    const current = await this.campaigns.get(id, actor); // 404 for a campaign the caller may not see
    const lastSeen = Number(req.headers['last-event-id'] ?? current.revision);
    const after = Number.isInteger(lastSeen) && lastSeen >= -1 ? lastSeen : current.revision;
    let sent = after;
    const toMessage = (e: { revision: number; type: string; id: string; data: unknown; metadata: Record<string, any> }): MessageEvent => ({
      id: String(e.revision),
      type: 'event',
      data: { revision: e.revision, id: e.id, type: e.type, occurredAt: e.metadata.occurredAt, actor: actor.role === 'unit' ? undefined : e.metadata.actor, data: e.data },
    });
    // Catch up from the log after the last revision the client saw, then follow the projector's changes.
    const backlog = from(this.repo.events(id, after + 1)).pipe(concatMap((events) => from(events)));
    const live = this.projector.changes.pipe(
      filter((c) => c.campaignId === id),
      concatMap((c) => from(this.repo.events(id, sent + 1, c.revision - sent)).pipe(concatMap((events) => from(events)))),
    );
    return merge(backlog, live).pipe(
      filter((e) => e.revision > sent),
      map((e) => {
        sent = e.revision;
        return toMessage(e);
      }),
    );
  }
}
