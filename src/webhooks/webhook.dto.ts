import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsInt, IsOptional, IsString, IsUrl, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { DELIVERABLE_EVENT_TYPES } from './domain/webhooks';

export const WEBHOOK_LIMITS = { url: 2048, secretMin: 16, secretMax: 256, description: 300 };

export class RegisterWebhookDto {
  @ApiProperty({ example: 'https://oa.bureau.example/docket/hooks', description: 'http or https; loopback and private addresses are allowed (the bureau registers its own receivers); no user:password@' })
  @IsString()
  @MaxLength(WEBHOOK_LIMITS.url)
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false, require_host: true, disallow_auth: true, allow_underscores: true },
    { message: 'url must be an http or https URL without user:password@' },
  )
  url: string;

  @ApiProperty({ description: 'Shared secret the signatures are made with, 16-256 printable ASCII characters; never returned', example: 'b4c1…' })
  @IsString()
  @Length(WEBHOOK_LIMITS.secretMin, WEBHOOK_LIMITS.secretMax, { message: `secret must be ${WEBHOOK_LIMITS.secretMin} to ${WEBHOOK_LIMITS.secretMax} characters` })
  @Matches(/^[\x20-\x7e]*$/, { message: 'secret must be printable ASCII' })
  secret: string;

  @ApiPropertyOptional({ example: '区教育局 OA 催办接口' })
  @IsOptional()
  @IsString()
  @Length(1, WEBHOOK_LIMITS.description)
  description?: string;

  @ApiPropertyOptional({ description: 'Event types to receive; all when absent', enum: DELIVERABLE_EVENT_TYPES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(DELIVERABLE_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(DELIVERABLE_EVENT_TYPES, { each: true })
  events?: (typeof DELIVERABLE_EVENT_TYPES)[number][];
}

export class DeliveriesQuery {
  @IsOptional()
  @IsIn(['pending', 'delivered', 'failed', 'cancelled', 'skipped'])
  status?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,63}$/, { message: 'campaign must be a campaign id' })
  campaign?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  /** Cursor: the `position` of the last item of the previous page. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
