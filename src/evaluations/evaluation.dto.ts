import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { DomainError } from '../common/domain/domain-error';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
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
import { EVALUATION_LIMITS } from './domain/decide';
import { ID_MESSAGE, ID_PATTERN } from '../campaigns/campaign.dto';

const KEBAB = /^[a-z][a-z0-9-]{0,63}$/;
export const EVALUATION_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

const isRatings = (value: unknown, max: number): value is Record<string, string> => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length <= max && entries.every(([k, v]) => k.length <= 64 && typeof v === 'string' && v.length <= 64);
};

/** {subject: grade}: a plain object of at most `max` short string entries. */
function IsRatings(max: number) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isRatings',
      target: object.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => isRatings(value, max),
        defaultMessage: (args?: ValidationArguments) => `${args?.property} must map subject ids to grade ids (at most ${max} entries)`,
      },
    });
}

export class SubjectDto {
  @ApiProperty({ example: 'principal-zhang' })
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  id: string;

  @ApiProperty({ example: '张校长' })
  @IsString()
  @Length(1, 300)
  name: string;
}

export class VoterGroupDto {
  @ApiProperty({ example: 'teachers' })
  @IsString()
  @Matches(KEBAB, { message: 'id must be a kebab-case group id such as teachers' })
  id: string;

  @ApiPropertyOptional({ description: 'Shown on the token sheet; defaults to the workflow’s title of the group', example: '教师' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  title?: string;

  @ApiPropertyOptional({ description: 'Weight in the weighted score; defaults to the workflow’s', example: 0.3 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.000001)
  @Max(1000)
  weight?: number;

  @ApiPropertyOptional({ description: 'Ballots (one-time tokens) to issue; defaults to the workflow’s', example: 120 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(EVALUATION_LIMITS.ballotsPerGroup)
  ballots?: number;
}

export class OpenEvaluationDto {
  @ApiPropertyOptional({ description: 'Evaluation id; generated when absent', example: 'zhongxin-2013-leaders' })
  @IsOptional()
  @IsString()
  @Matches(EVALUATION_ID, { message: 'id must be 1-64 lower-case letters, digits or "-"' })
  id?: string;

  @ApiProperty({ description: 'The id of an evaluation of the campaign’s current stage, as the workflow names it', example: 'democratic-appraisal' })
  @IsString()
  @Matches(KEBAB, { message: 'evaluation must be an evaluation id of the workflow, such as democratic-appraisal' })
  evaluation: string;

  @ApiPropertyOptional({ description: 'Defaults to the workflow’s title of the evaluation', example: '中心校领导班子成员民主测评' })
  @IsOptional()
  @IsString()
  @Length(1, 300)
  title?: string;

  @ApiPropertyOptional({ description: 'The campaign unit the evaluation is held for (e.g. one school’s leadership)' })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: ID_MESSAGE })
  unit?: string;

  @ApiPropertyOptional({ type: [SubjectDto], description: 'Who is rated: required for leaders; units evaluations default to the campaign’s units' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVALUATION_LIMITS.subjects)
  @IsObject({ each: true }) // an array inside the array is not an element: ValidateNested would walk into it
  @ValidateNested({ each: true })
  @Type(() => SubjectDto)
  subjects?: SubjectDto[];

  @ApiPropertyOptional({ type: [VoterGroupDto], description: 'Voter groups with ballot counts (and weights, for groups the workflow does not define); defaults to the workflow’s' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(EVALUATION_LIMITS.groups)
  @IsObject({ each: true }) // an array inside the array is not an element: ValidateNested would walk into it
  @ValidateNested({ each: true })
  @Type(() => VoterGroupDto)
  groups?: VoterGroupDto[];
}

export class OpenEvaluationQuery {
  @IsOptional()
  @IsIn(['json', 'html'])
  format?: 'json' | 'html';

  /** Where voters reach the service (the QR codes open <publicUrl>/ballot); defaults to this request's origin. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  publicUrl?: string;
}

export class CastBallotDto {
  @ApiProperty({ description: 'The one-time token from the slip (case, spaces and dashes do not matter)' })
  @IsString()
  @Length(1, 128)
  token: string;

  @ApiProperty({ description: 'subject id → grade id; subjects left out are abstentions', example: { 'principal-zhang': 'excellent' } })
  @IsRatings(EVALUATION_LIMITS.subjects)
  ratings: Record<string, string>;
}

/**
 * CastBallotDto's rules, checked by hand: ballots are the one request that comes by the
 * thousand a second, and class-transformer plus class-validator cost more than the rest of
 * it. Refusals are the validation pipe's: 400 VALIDATION_FAILED naming each field.
 */
export function castBallotBody(body: unknown): { token: string; ratings: Record<string, string> } {
  const errors: { field: string; problems: string[] }[] = [];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new DomainError('VALIDATION_FAILED', 'the body must be {token, ratings}', { errors: [{ field: '', problems: ['the body must be an object'] }] });
  }
  const { token, ratings, ...rest } = body as Record<string, unknown>;
  for (const field of Object.keys(rest)) errors.push({ field, problems: [`property ${field} should not exist`] });
  if (typeof token !== 'string' || token.length < 1 || token.length > 128) errors.push({ field: 'token', problems: ['token must be a string of 1 to 128 characters'] });
  if (!isRatings(ratings, EVALUATION_LIMITS.subjects)) {
    errors.push({ field: 'ratings', problems: [`ratings must map subject ids to grade ids (at most ${EVALUATION_LIMITS.subjects} entries)`] });
  }
  if (errors.length) throw new DomainError('VALIDATION_FAILED', errors.map((e) => e.problems.join('; ')).join('; '), { errors: errors.slice(0, 20) });
  return { token: token as string, ratings: ratings as Record<string, string> };
}
