import { Body, Controller, Get, Headers, HttpCode, Logger, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExcludeEndpoint, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes, randomUUID } from 'node:crypto';
import { CurrentActor } from '../auth/auth.guard';
import { Public, Roles } from '../auth/roles.decorator';
import { Actor, DomainError } from '../common/domain/domain-error';
import { CastBallotDto, castBallotBody, EVALUATION_ID, OpenEvaluationDto, OpenEvaluationQuery } from './evaluation.dto';
import { CommandMeta, EvaluationService, notFound } from './evaluation.service';
import { ballotPageCsp, ballotPageHtml } from './html/ballot-page';
import { esc } from './html/escape';
import { renderTokenSheet, TOKEN_SHEET_MAX_SLIPS } from './html/token-sheet-render';

const CAMPAIGN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

function evaluationId(raw: string): string {
  if (!EVALUATION_ID.test(raw)) throw notFound(raw);
  return raw;
}

function meta(actor: Actor, headers: Record<string, string | undefined>): CommandMeta {
  const correlation = headers['x-correlation-id'];
  return { actor, correlationId: correlation && /^[\x21-\x7e]{1,200}$/.test(correlation) ? correlation : randomUUID() };
}

/** Where voters reach this service, as the request that opens the evaluation sees it (overridable with ?publicUrl=). */
function requestOrigin(req: FastifyRequest): string {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.split(',')[0].trim();
  const proto = first(req.headers['x-forwarded-proto']) === 'https' ? 'https' : req.protocol === 'https' ? 'https' : 'http';
  const host = first(req.headers['x-forwarded-host']) ?? first(req.headers.host);
  return `${proto}://${host && HOST.test(host) ? host : 'localhost'}`;
}

@ApiTags('evaluations')
@Controller()
export class EvaluationsController {
  private readonly logger = new Logger('Evaluations');

  constructor(private readonly evaluations: EvaluationService) {}

  @Post('api/campaigns/:id/evaluations')
  @Roles('bureau')
  @ApiBearerAuth()
  @ApiOperation({
    summary: 'Open an evaluation of the current stage; answers its one-time tokens, once (?format=html: the printable token sheet with QR codes)',
  })
  @ApiQuery({ name: 'format', required: false, enum: ['json', 'html'] })
  @ApiQuery({ name: 'publicUrl', required: false, description: 'Where voters reach the service (QR codes open <publicUrl>/ballot)' })
  async open(
    @Param('id') id: string,
    @Body() body: OpenEvaluationDto,
    @Query() query: OpenEvaluationQuery,
    @CurrentActor() actor: Actor,
    @Headers() headers: Record<string, string>,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (!CAMPAIGN_ID.test(id)) throw new DomainError('CAMPAIGN_NOT_FOUND', `no campaign ${id.slice(0, 80)}`, { id: id.slice(0, 80) });
    const sheet = query.format === 'html';
    const opened = await this.evaluations.open(id, { ...body }, meta(actor, headers), sheet ? { maxTokens: TOKEN_SHEET_MAX_SLIPS } : {});
    void reply
      .status(201)
      .header('Location', `/api/evaluations/${opened.view.id}`)
      .header('Cache-Control', 'no-store');
    if (sheet) {
      try {
        const html = await renderTokenSheet({
          evaluationId: opened.view.id,
          title: opened.view.title,
          groups: opened.groups,
          tokens: opened.tokens,
          publicUrl: (query.publicUrl ?? requestOrigin(req)).replace(/\/+$/, ''),
        });
        void reply.header('Content-Type', 'text/html; charset=utf-8').header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
        return html;
      } catch (e) {
        // The evaluation is open and its tokens exist only here: answer them as JSON rather than lose them.
        this.logger.error(`token sheet of ${opened.view.id} failed, answering its tokens as JSON: ${(e as Error).message}`);
        return { ...opened.view, tokens: opened.tokens, tokenSheet: 'failed: the tokens are answered as JSON instead' };
      }
    }
    return { ...opened.view, tokens: opened.tokens };
  }

  @Post('api/evaluations/:id/ballots')
  @Public()
  @HttpCode(201)
  @ApiOperation({ summary: 'Cast a ballot with a one-time token (no bearer token; nothing about the voter is recorded)' })
  @ApiBody({ type: CastBallotDto })
  async ballot(@Param('id') id: string, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    // The hot path (thousands a second): checked by hand, with the same answers as the validation pipe.
    const { token, ratings } = castBallotBody(body);
    await this.evaluations.cast(evaluationId(id), token, ratings);
    void reply.header('Cache-Control', 'no-store');
    return { accepted: true };
  }

  @Post('api/evaluations/:id/close')
  @Roles('bureau')
  @HttpCode(200)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Close the evaluation and publish its tally (the campaign records turnout and tally hash)' })
  close(@Param('id') id: string, @CurrentActor() actor: Actor, @Headers() headers: Record<string, string>) {
    return this.evaluations.close(evaluationId(id), meta(actor, headers));
  }

  @Get('api/evaluations/:id')
  @Roles('bureau', 'auditor')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Title, subjects, scale, groups, turnout and, once closed, the tally' })
  get(@Param('id') id: string) {
    return this.evaluations.view(evaluationId(id));
  }

  @Get('api/evaluations/:id/verify')
  @Roles('auditor', 'bureau')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Recount from the stored ballots and compare with the published tally; hash chain and campaign anchor' })
  verify(@Param('id') id: string) {
    return this.evaluations.verify(evaluationId(id));
  }

  @Get('api/evaluations/:id/tally.csv')
  @Roles('bureau', 'auditor')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'The published tally as CSV (UTF-8 with BOM)' })
  async csv(@Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const { csv } = await this.evaluations.csv(evaluationId(id));
    void reply.header('Content-Type', 'text/csv; charset=utf-8').header('Content-Disposition', `attachment; filename="${id}-tally.csv"`);
    return csv;
  }
}

/** The page a slip's QR code opens (outside /api: it is for people, not programs). */
@Controller()
export class BallotPageController {
  constructor(private readonly evaluations: EvaluationService) {}

  @Get('ballot')
  @Public()
  @ApiExcludeEndpoint()
  async page(@Query('e') e: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    const nonce = randomBytes(16).toString('base64');
    void reply
      .header('Content-Type', 'text/html; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .header('Referrer-Policy', 'no-referrer')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Content-Security-Policy', ballotPageCsp(nonce));
    try {
      return ballotPageHtml(await this.evaluations.require(evaluationId(typeof e === 'string' ? e : '')), nonce);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'EVALUATION_NOT_FOUND') throw error;
      void reply.status(404);
      return `<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>404</title></head><body><p>没有这项测评。No such evaluation: ${esc(String(e ?? '').slice(0, 80))}</p></body></html>`;
    }
  }
}
