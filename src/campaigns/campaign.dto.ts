import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { parseIsoInstant } from '../common/domain/iso-instant';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  IsObject,
  ValidateNested,
  ValidationArguments,
  registerDecorator,
} from 'class-validator';

/** Limits a client cannot exceed; beyond them the request is refused whole. */
/** An ISO-8601 instant as parseIsoInstant reads it: no 31 February, no 24:00, years 1900–9999. */
function IsIsoInstant(options: { dateOnly?: boolean; message: string }) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isIsoInstant',
      target: object.constructor,
      propertyName,
      options: { message: options.message },
      validator: { validate: (value: unknown) => parseIsoInstant(value, { dateOnly: options.dateOnly }) !== undefined },
    });
}

export const LIMITS = {
  units: 5000,
  deadlines: 50,
  title: 300,
  content: 200_000,
  comment: 5000,
  reason: 2000,
  url: 2048,
};

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const ID_MESSAGE = '$property must be 1-64 characters of letters, digits, "_", "." or "-", starting with a letter or digit';

/** A plain object whose keys match `keyPattern` and whose values are ISO-8601 date-times, at most `max` entries. */
function IsDeadlineMap(max: number) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isDeadlineMap',
      target: object.constructor,
      propertyName,
      validator: {
        validate(value: unknown) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          return (
            entries.length <= max &&
            entries.every(([k, v]) => /^[a-z][a-z0-9-]{0,63}$/.test(k) && parseIsoInstant(v) !== undefined)
          );
        },
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must map stage ids to ISO-8601 date-times with a zone (at most ${max} entries)`,
      },
    });
}

export class UnitDto {
  @ApiProperty({ example: 'branch-17' })
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  id: string;

  @ApiProperty({ example: '第十七党支部' })
  @IsString()
  @Length(1, LIMITS.title)
  name: string;
}

export class LaunchCampaignDto {
  @ApiPropertyOptional({ description: 'Campaign id; generated when absent', example: 'nanming-2013-three-searches' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,63}$/, { message: 'id must be 1-64 lower-case letters, digits or "-"' })
  id?: string;

  @ApiProperty({ example: 'three-searches' })
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,63}$/, { message: 'workflow must be a workflow id such as three-searches' })
  workflow: string;

  @ApiPropertyOptional({ description: 'Workflow version; the latest when absent' })
  @IsOptional()
  @IsInt()
  @Min(1)
  workflowVersion?: number;

  @ApiProperty({ example: '“找问题、找差距、找目标”主题大讨论' })
  @IsString()
  @Length(1, LIMITS.title)
  title: string;

  @ApiProperty({ type: [UnitDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(LIMITS.units)
  @IsObject({ each: true }) // an array inside the array is not an element: ValidateNested would walk into it
  @ValidateNested({ each: true })
  @Type(() => UnitDto)
  units: UnitDto[];

  @ApiPropertyOptional({ description: 'Absolute deadlines by stage id', example: { rectification: '2013-12-31T16:00:00Z' } })
  @IsOptional()
  @IsDeadlineMap(LIMITS.deadlines)
  deadlines?: Record<string, string>;
}

export class SubmitDeliverableDto {
  @ApiProperty({ example: 'branch-17' })
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  unit: string;

  @ApiProperty({ example: 'rectification-plan' })
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,63}$/, { message: 'deliverable must be a deliverable id such as rectification-plan' })
  deliverable: string;

  @ApiProperty({ example: '第十七党支部整改方案' })
  @IsString()
  @Length(1, LIMITS.title)
  title: string;

  @ApiPropertyOptional({ description: `Text of the deliverable (at most ${LIMITS.content} characters)` })
  @IsOptional()
  @IsString()
  @MaxLength(LIMITS.content)
  content?: string;

  @ApiPropertyOptional({ description: 'Where the document is kept (http or https)' })
  @IsOptional()
  @IsString()
  @MaxLength(LIMITS.url)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  url?: string;
}

export class ReviewDeliverableDto {
  @ApiProperty({ example: 'branch-17' })
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  unit: string;

  @ApiProperty({ example: 'rectification-plan' })
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,63}$/, { message: 'deliverable must be a deliverable id such as rectification-plan' })
  deliverable: string;

  @ApiProperty({ enum: ['approved', 'returned'] })
  @IsIn(['approved', 'returned'])
  decision: 'approved' | 'returned';

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(LIMITS.comment)
  comment?: string;
}

export class TransitionDto {
  @ApiProperty({ example: 'ADVANCE' })
  @IsString()
  @Matches(/^[A-Z][A-Z0-9_]{0,63}$/, { message: 'event must be an upper-case event name such as ADVANCE' })
  event: string;

  @ApiPropertyOptional({ example: 'all plans approved at the leading group meeting of 12 Oct' })
  @IsOptional()
  @IsString()
  @MaxLength(LIMITS.reason)
  reason?: string;
}

/**
 * Query-string integers are bounded to safe integers: beyond them a number is no longer
 * exact, and the store refuses it (a 1e21 revision must be a 400, never a 500).
 */
export class ChangeDeadlineDto {
  @ApiProperty({ example: 'rectification' })
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,63}$/, { message: 'stage must be a stage id such as rectification' })
  stage: string;

  @ApiProperty({ example: '2013-12-31T16:00:00Z', description: 'ISO-8601 date-time with a zone' })
  @IsString()
  @IsIsoInstant({ message: 'deadline must be an ISO-8601 date-time with a zone, between 1900 and 9999' })
  deadline: string;

  @ApiProperty({ example: 'extended by the leading group meeting of 12 Oct' })
  @IsString()
  @Length(1, LIMITS.reason)
  reason: string;
}

export class ListCampaignsQuery {
  @IsOptional()
  @IsString()
  @MaxLength(64)
  stage?: string;

  @IsOptional()
  @IsIn(['true', 'false'])
  overdue?: 'true' | 'false';

  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  unit?: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  workflow?: string;

  @IsOptional()
  @IsIn(['active', 'completed'])
  status?: 'active' | 'completed';

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  limit?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  offset?: number;
}

export class HistoryQuery {
  @ApiPropertyOptional({ description: 'First revision of the page (the previous answer\'s `next`)', default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  fromRevision?: number;

  @ApiPropertyOptional({ description: 'Events per page, at most 10000', default: 1000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  limit?: number;

  @ApiPropertyOptional({ description: 'Only these event types, comma-separated', example: 'DeliverableSubmitted,DeliverableReviewed' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z][A-Za-z0-9]{0,63}(,[A-Za-z][A-Za-z0-9]{0,63}){0,19}$/, { message: 'type must be event type names separated by commas, e.g. DeliverableSubmitted,StageAdvanced' })
  type?: string;

  @ApiPropertyOptional({ description: 'Only events by this actor (the token\'s sub)', example: 'branch-17-secretary' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  actor?: string;

  @ApiPropertyOptional({ description: 'Only events that occurred at or after this instant (ISO-8601)' })
  @IsOptional()
  @IsString()
  @IsIsoInstant({ dateOnly: true, message: 'from must be an ISO-8601 date or date-time with a zone, between 1900 and 9999' })
  from?: string;

  @ApiPropertyOptional({ description: 'Only events that occurred at or before this instant (ISO-8601)' })
  @IsOptional()
  @IsString()
  @IsIsoInstant({ dateOnly: true, message: 'to must be an ISO-8601 date or date-time with a zone, between 1900 and 9999' })
  to?: string;
}

export class StateQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  revision?: number;

  @IsOptional()
  @IsString()
  @IsIsoInstant({ dateOnly: true, message: 'at must be an ISO-8601 date or date-time with a zone, between 1900 and 9999' })
  at?: string;
}
