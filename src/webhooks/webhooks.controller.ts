import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentActor } from '../auth/auth.guard';
import { Roles } from '../auth/roles.decorator';
import { Actor, DomainError } from '../common/domain/domain-error';
import { DeliveriesQuery, RegisterWebhookDto, UUID_PATTERN } from './webhook.dto';
import { webhookView, WebhooksService } from './webhooks.service';

const uuid = (value: string, what: string) => {
  if (!UUID_PATTERN.test(value)) throw new DomainError(`${what}_NOT_FOUND`, `no ${what.toLowerCase()} ${value.slice(0, 64)}`);
  return value;
};

/** Webhooks the bureau registers to receive reminders (docs/webhooks.md). */
@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @Roles('bureau')
  @ApiOperation({ summary: 'Register a receiver: {url, secret, description?, events?} → 201 {id, url, createdAt, …}; the secret is never returned' })
  register(@Body() dto: RegisterWebhookDto, @CurrentActor() actor: Actor) {
    return this.webhooks.register(dto, actor);
  }

  @Get()
  @Roles('bureau')
  @ApiOperation({ summary: 'The active webhooks, without their secrets' })
  async list() {
    return { items: await this.webhooks.list() };
  }

  @Get(':id')
  @Roles('bureau')
  @ApiOperation({ summary: 'One webhook (also a removed one), without its secret' })
  async get(@Param('id') id: string) {
    return webhookView(await this.webhooks.get(uuid(id, 'WEBHOOK')));
  }

  @Delete(':id')
  @Roles('bureau')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a webhook: nothing more is sent to it, pending deliveries are cancelled' })
  async remove(@Param('id') id: string, @CurrentActor() actor: Actor) {
    await this.webhooks.remove(uuid(id, 'WEBHOOK'), actor);
  }

  @Get(':id/deliveries')
  @Roles('bureau')
  @ApiOperation({ summary: 'Deliveries to this webhook with their state (pending, delivered, failed, cancelled), oldest first; ?status=&campaign=&after=<position>&limit=' })
  async deliveries(@Param('id') id: string, @Query() q: DeliveriesQuery) {
    await this.webhooks.get(uuid(id, 'WEBHOOK'));
    return this.webhooks.deliveries('webhook', id, q);
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @Roles('bureau')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a failed delivery again (same delivery id and body), as a fresh series of attempts' })
  async redeliver(@Param('id') id: string, @Param('deliveryId') deliveryId: string) {
    await this.webhooks.get(uuid(id, 'WEBHOOK'));
    return this.webhooks.redeliver('webhook', id, uuid(deliveryId, 'DELIVERY'));
  }
}

/** Reminder e-mails (DOCKET_SMTP_URL): what was sent, skipped or failed. */
@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('api/mail/deliveries')
export class MailDeliveriesController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Get()
  @Roles('bureau')
  @ApiOperation({ summary: 'Reminder e-mails with their state (pending, delivered, failed, skipped), oldest first; ?status=&campaign=&after=<position>&limit=' })
  list(@Query() q: DeliveriesQuery) {
    return this.webhooks.deliveries('email', undefined, q);
  }

  @Post(':deliveryId/redeliver')
  @Roles('bureau')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a failed or skipped e-mail again' })
  redeliver(@Param('deliveryId') deliveryId: string) {
    return this.webhooks.redeliver('email', undefined, uuid(deliveryId, 'DELIVERY'));
  }
}
