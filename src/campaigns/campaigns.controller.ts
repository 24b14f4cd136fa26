import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import { CurrentActor } from '../auth/auth.guard';
import { Roles } from '../auth/roles.decorator';
import { Actor, DomainError } from '../common/domain/domain-error';
import { CommandOptions } from './campaign-command.executor';
import { CampaignQueries } from './campaign.queries';
import { ReadModelQueries } from '../projections/read-model.queries';
import { CampaignRepository } from './campaign.repository';
import {
  ChangeDeadlineDto,
  HistoryQuery,
  LaunchCampaignDto,
  ListCampaignsQuery,
  ReviewDeliverableDto,
  StateQuery,
  SubmitDeliverableDto,
  TransitionDto,
} from './campaign.dto';
import { LaunchCampaignCommand } from './launch-campaign/launch-campaign.handler';
import { SubmitDeliverableCommand } from './submit-deliverable/submit-deliverable.handler';
import { ReviewDeliverableCommand } from './review-deliverable/review-deliverable.handler';
import { TransitionCampaignCommand } from './transition-campaign/transition-campaign.handler';
import { ChangeDeadlineCommand } from './change-deadline/change-deadline.handler';

const CAMPAIGN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

function campaignId(raw: string): string {
  if (!CAMPAIGN_ID.test(raw)) throw new DomainError('CAMPAIGN_NOT_FOUND', `no campaign ${raw.slice(0, 80)}`, { id: raw.slice(0, 80) });
  return raw;
}

/** If-Match: "57", W/"57" or 57 → 57. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m) throw new DomainError('PRECONDITION_INVALID', 'If-Match must be a campaign revision, e.g. "57"', { ifMatch: header.slice(0, 80) });
  return Number(m[1]);
}

function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,200}$/.test(header)) {
    throw new DomainError('VALIDATION_FAILED', 'Idempotency-Key must be 1-200 visible ASCII characters');
  }
  return header;
}

function options(actor: Actor, headers: Record<string, string | undefined>, withPreconditions = true): CommandOptions {
  const correlation = headers['x-correlation-id'];
  return {
    actor,
    correlationId: correlation && /^[\x21-\x7e]{1,200}$/.test(correlation) ? correlation : randomUUID(),
    idempotencyKey: idempotencyKey(headers['idempotency-key']),
    expectedRevision: withPreconditions ? parseIfMatch(headers['if-match']) : undefined,
  };
}

@ApiTags('campaigns')
@ApiBearerAuth()
@Controller('api/campaigns')
export class CampaignsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: CampaignQueries,
    private readonly readModels: ReadModelQueries,
    private readonly repo: CampaignRepository,
  ) {}

  @Post()
  @Roles('bureau')
  @ApiOperation({ summary: 'Launch a campaign of a workflow for a list of units' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async launch(@Body() body: LaunchCampaignDto, @CurrentActor() actor: Actor, @Headers() headers: Record<string, string>, @Res({ passthrough: true }) reply: FastifyReply) {
    const opts = options(actor, headers, false);
    // Without an id, a retried launch carrying the same Idempotency-Key must find the same campaign.
    const suffix = opts.idempotencyKey
      ? createHash('sha256').update(`${actor.sub}\n${opts.idempotencyKey}`).digest('hex').slice(0, 12)
      : randomUUID().replace(/-/g, '').slice(0, 12);
    const id = body.id ?? `${body.workflow}-${suffix}`;
    const answer = await this.commands.execute(
      new LaunchCampaignCommand(
        id,
        { workflow: body.workflow, workflowVersion: body.workflowVersion, title: body.title, units: body.units.map((u) => ({ id: u.id, name: u.name })), deadlines: body.deadlines },
        opts,
      ),
    );
    void reply.status(201).header('Location', `/api/campaigns/${id}`).header('ETag', `"${answer.revision}"`);
    return answer;
  }

  @Get()
  @Roles('bureau', 'auditor', 'unit')
  @ApiOperation({ summary: 'List campaigns (units: only those they take part in)' })
  list(@Query() q: ListCampaignsQuery, @CurrentActor() actor: Actor) {
    return this.readModels.list(
      {
        stage: q.stage,
        workflow: q.workflow,
        status: q.status,
        unit: q.unit,
        overdue: q.overdue === undefined ? undefined : q.overdue === 'true',
        limit: Math.min(q.limit ?? 50, 500),
        offset: q.offset ?? 0,
      },
      actor,
    );
  }

  @Get(':id')
  @Roles('bureau', 'auditor', 'unit')
  @ApiOperation({ summary: 'The campaign: stage, revision, per-unit deliverables, deadline, transitions and their blockers' })
  async get(@Param('id') id: string, @CurrentActor() actor: Actor, @Res({ passthrough: true }) reply: FastifyReply) {
    const view = await this.queries.get(campaignId(id), actor);
    void reply.header('ETag', `"${view.revision}"`);
    return view;
  }

  @Post(':id/submissions')
  @Roles('unit', 'bureau')
  @ApiOperation({ summary: 'Submit a deliverable of the current stage for a unit' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiHeader({ name: 'If-Match', required: false })
  async submit(@Param('id') id: string, @Body() body: SubmitDeliverableDto, @CurrentActor() actor: Actor, @Headers() headers: Record<string, string>, @Res({ passthrough: true }) reply: FastifyReply) {
    const cid = campaignId(id);
    if (actor.role === 'unit') {
      if (body.unit !== actor.unit) {
        throw new DomainError('FORBIDDEN', `a ${actor.unit} user may submit only for ${actor.unit}`, { unit: body.unit });
      }
      // A campaign a unit is not part of does not exist for it (as on GET): no 422, 412 or replay may say otherwise.
      const state = await this.repo.load(cid);
      if (!state || !state.unitIds.has(actor.unit)) throw new DomainError('CAMPAIGN_NOT_FOUND', `no campaign ${cid}`, { id: cid });
    }
    const answer = await this.commands.execute(new SubmitDeliverableCommand(cid, { ...body }, options(actor, headers)));
    void reply.status(201).header('ETag', `"${answer.revision}"`);
    return answer;
  }

  @Post(':id/reviews')
  @Roles('bureau')
  @ApiOperation({ summary: 'Approve or return a submitted deliverable' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiHeader({ name: 'If-Match', required: false })
  async review(@Param('id') id: string, @Body() body: ReviewDeliverableDto, @CurrentActor() actor: Actor, @Headers() headers: Record<string, string>, @Res({ passthrough: true }) reply: FastifyReply) {
    const answer = await this.commands.execute(new ReviewDeliverableCommand(campaignId(id), { ...body }, options(actor, headers)));
    void reply.status(201).header('ETag', `"${answer.revision}"`);
    return answer;
  }

  @Post(':id/transitions')
  @Roles('bureau')
  @HttpCode(200)
  @ApiOperation({ summary: 'Move the campaign on (409 GUARD_REJECTED with blockers when a guard does not hold)' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiHeader({ name: 'If-Match', required: false })
  async transition(@Param('id') id: string, @Body() body: TransitionDto, @CurrentActor() actor: Actor, @Headers() headers: Record<string, string>, @Res({ passthrough: true }) reply: FastifyReply) {
    const answer = await this.commands.execute(new TransitionCampaignCommand(campaignId(id), { ...body }, options(actor, headers)));
    void reply.header('ETag', `"${answer.revision}"`);
    return answer;
  }

  @Post(':id/deadlines')
  @Roles('bureau')
  @ApiOperation({ summary: "Move a stage's deadline, with a reason (recorded as DeadlineChanged; reminders follow the new deadline)" })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiHeader({ name: 'If-Match', required: false })
  async changeDeadline(@Param('id') id: string, @Body() body: ChangeDeadlineDto, @CurrentActor() actor: Actor, @Headers() headers: Record<string, string>, @Res({ passthrough: true }) reply: FastifyReply) {
    const answer = await this.commands.execute(new ChangeDeadlineCommand(campaignId(id), { ...body }, options(actor, headers)));
    void reply.status(201).header('ETag', `"${answer.revision}"`);
    return answer;
  }

  @Get(':id/history')
  @Roles('bureau', 'auditor')
  @ApiOperation({ summary: 'Events with actor, time, revision and hashes; filters type, actor, from/to; paged by fromRevision and limit (total, next)' })
  history(@Param('id') id: string, @Query() q: HistoryQuery, @CurrentActor() actor: Actor) {
    const from = q.from === undefined ? undefined : new Date(q.from);
    const to = q.to === undefined ? undefined : new Date(q.to);
    if (from && Number.isNaN(from.getTime())) throw new DomainError('INVALID_QUERY', `from is not a valid date: ${q.from}`);
    if (to && Number.isNaN(to.getTime())) throw new DomainError('INVALID_QUERY', `to is not a valid date: ${q.to}`);
    if (from && to && from.getTime() > to.getTime()) throw new DomainError('INVALID_QUERY', 'from must not be after to');
    return this.queries.history(campaignId(id), actor, {
      fromRevision: q.fromRevision ?? 0,
      limit: Math.min(q.limit ?? 1000, 10000),
      types: q.type === undefined ? undefined : q.type.split(','),
      actor: q.actor,
      from,
      to,
    });
  }

  @Get(':id/state')
  @Roles('bureau', 'auditor')
  @ApiOperation({ summary: 'The campaign as it was at ?revision=N or ?at=ISO, by replay' })
  state(@Param('id') id: string, @Query() q: StateQuery, @CurrentActor() actor: Actor) {
    if ((q.revision === undefined) === (q.at === undefined)) {
      throw new DomainError('INVALID_QUERY', 'give exactly one of ?revision=N or ?at=ISO');
    }
    const at = q.at === undefined ? undefined : new Date(q.at);
    if (at && Number.isNaN(at.getTime())) throw new DomainError('INVALID_QUERY', `at is not a valid date: ${q.at}`);
    return this.queries.stateAt(campaignId(id), actor, { revision: q.revision, at });
  }

  @Get(':id/verify')
  @Roles('auditor', 'bureau')
  @ApiOperation({ summary: 'Recompute the hash chain and replay the log; names the first bad event' })
  verify(@Param('id') id: string, @CurrentActor() actor: Actor) {
    return this.queries.verify(campaignId(id), actor);
  }
}
