import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/roles.decorator';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { Projector } from '../projections/projector';

@ApiTags('ops')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DOCKET_CONFIG) private readonly config: DocketConfig,
    private readonly projector: Projector,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Liveness and store reachability (503 when the store is down)' })
  async health(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      await this.store.streamRevision('$health');
      return { status: 'ok', store: { kind: this.config.store, status: 'up' }, projections: { position: this.projector.position } };
    } catch (e) {
      void reply.status(503);
      return { status: 'error', store: { kind: this.config.store, status: 'down', error: (e as Error).message }, projections: { position: this.projector.position } };
    }
  }
}
