import { ArgumentMetadata, Injectable, PipeTransform, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage, isIn, isInt, isNumber, isString, isURL, length, matches, max, maxLength, min, minLength } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import type { MetadataStorage } from 'class-transformer/types/MetadataStorage';
import { TransformationType } from 'class-transformer';
import { DomainError } from './domain/domain-error';

// class-transformer keeps its metadata (@Type, @Transform, @Expose, @Exclude) here; it exports no public accessor.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as { defaultMetadataStorage: MetadataStorage };

/**
 * The class-validator functions behind the decorators the fast path knows, called with the
 * decorator's own constraints: the same functions the decorators call, so the same verdicts.
 */
const CHECKS: Record<string, (value: unknown, c: any[]) => boolean> = {
  isString: (v) => isString(v),
  matches: (v, c) => matches(v as string, c[0], c[1]),
  isLength: (v, c) => length(v, c[0], c[1]),
  maxLength: (v, c) => maxLength(v, c[0]),
  minLength: (v, c) => minLength(v, c[0]),
  isIn: (v, c) => isIn(v, c[0]),
  isInt: (v) => isInt(v),
  isNumber: (v, c) => isNumber(v, c[0]),
  min: (v, c) => min(v, c[0]),
  max: (v, c) => max(v, c[0]),
  isUrl: (v, c) => isURL(v as string, c[0]),
};

interface Plan {
  /** Property → its conditions (IsOptional, ValidateIf) and checks. */
  properties: Map<string, { conditions: ValidationMetadata[]; checks: { check: (value: unknown, c: any[]) => boolean; constraints: any[] }[] }>;
}

/**
 * A body DTO whose rules are only scalar checks the fast path knows (no nesting, no `each`,
 * no groups, no custom validators, no class-transformer metadata) gets a plan; any other
 * DTO gets null and is always validated by the ValidationPipe.
 */
function planFor(metatype: new () => unknown): Plan | null {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(metatype, '', true, false);
  if (metadata.length === 0) return null;
  if (defaultMetadataStorage.getExposedMetadatas(metatype).length || defaultMetadataStorage.getExcludedMetadatas(metatype).length) return null;
  const properties: Plan['properties'] = new Map();
  for (const m of metadata) {
    if (m.each || m.always || m.groups?.length) return null;
    const p = properties.get(m.propertyName) ?? { conditions: [], checks: [] };
    properties.set(m.propertyName, p);
    if (m.type === 'conditionalValidation') p.conditions.push(m);
    else if (m.type === 'customValidation' && m.name && CHECKS[m.name]) p.checks.push({ check: CHECKS[m.name], constraints: m.constraints ?? [] });
    else return null;
  }
  for (const name of properties.keys()) {
    if (defaultMetadataStorage.findTypeMetadata(metatype, name)) return null;
    if (defaultMetadataStorage.findTransformMetadatas(metatype, name, TransformationType.PLAIN_TO_CLASS).length) return null;
  }
  return { properties };
}

/** Objects and arrays within objects and arrays, at most: far more than any request needs. */
export const MAX_BODY_DEPTH = 32;

/** Text every store keeps as given: well-formed UTF-16 (no lone surrogate) and no NUL. */
export function isGoodText(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed() && !s.includes('\u0000');
}

/**
 * What no DTO may receive, whatever its rules, found in one walk without recursion: nesting
 * deeper than MAX_BODY_DEPTH (class-transformer and class-validator recurse, and a few thousand
 * levels, 18 KB of brackets, overflow the stack), or text that is not good (a lone surrogate is
 * stored as U+FFFD by SQLite, so the read models would differ from the log; PostgreSQL refuses
 * NUL in text and jsonb). The problem in words, or undefined.
 */
export function unacceptable(value: unknown): string | undefined {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isGoodText(v)) return 'holds text that is not well-formed Unicode, or a NUL character';
    } else if (v !== null && typeof v === 'object') {
      if (depth > MAX_BODY_DEPTH) return `is nested deeper than ${MAX_BODY_DEPTH} levels`;
      if (Array.isArray(v)) for (const child of v) stack.push([child, depth + 1]);
      else
        for (const [k, child] of Object.entries(v)) {
          if (!isGoodText(k)) return 'holds text that is not well-formed Unicode, or a NUL character';
          stack.push([child, depth + 1]);
        }
    }
  }
  return undefined;
}

/**
 * The app's ValidationPipe with a fast path for request bodies that pass: a body of a DTO
 * with a plan (above) whose keys are all declared, whose values are scalars, and which
 * passes every check is turned into the DTO instance directly, as `transform: true` would.
 * Anything else — a failing, unknown or non-scalar member, a DTO without a plan, a query or
 * a parameter — goes to the ValidationPipe, which answers exactly as before. Passing bodies
 * are the common case (every submission), and the pipe's generic machinery was about a tenth
 * of a command's CPU.
 */
@Injectable()
export class FastValidationPipe implements PipeTransform {
  private readonly plans = new Map<unknown, Plan | null>();

  /** The ValidationPipe leaves custom parameters alone and forces no type on any (leavesAsItIs relies on both). */
  private readonly plain: boolean;

  constructor(readonly pipe: ValidationPipe) {
    const options = pipe as unknown as { validateCustomDecorators?: boolean; expectedType?: unknown };
    this.plain = !options.validateCustomDecorators && options.expectedType === undefined;
  }

  transform(value: unknown, meta: ArgumentMetadata): unknown {
    if (this.leavesAsItIs(value, meta)) return value;
    if (meta.type === 'body' && typeof meta.metatype === 'function') {
      const fast = this.tryFast(value, meta.metatype as new () => unknown);
      if (fast !== undefined) return fast;
    }
    if (meta.type === 'body' || meta.type === 'query') {
      const problem = unacceptable(value);
      if (problem) throw new DomainError('VALIDATION_FAILED', `the ${meta.type} ${problem}`);
    }
    return this.pipe.transform(value, meta);
  }

  /**
   * Whether the ValidationPipe would hand `value` back as it is, neither validating nor
   * converting it: a custom parameter (the actor; validateCustomDecorators is off), or a route
   * parameter or the headers typed as a string or an object (a string \`:id\` is already a
   * string). Every request has three of these, and the pipe's async machinery was most of their
   * cost. Bodies and queries always go the long way (their checks are below).
   */
  private leavesAsItIs(value: unknown, meta: ArgumentMetadata): boolean {
    if (!this.plain) return false;
    if (meta.type === 'custom') return true;
    if (meta.type !== 'param') return false;
    const m = meta.metatype;
    return m === undefined || m === Object || (m === String && (typeof value === 'string' || value === undefined));
  }

  /** The DTO instance, or undefined when the ValidationPipe must decide. */
  tryFast(value: unknown, metatype: new () => unknown): unknown {
    let plan = this.plans.get(metatype);
    if (plan === undefined) {
      plan = planFor(metatype);
      this.plans.set(metatype, plan);
    }
    if (!plan || value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
    const body = value as Record<string, unknown>;
    for (const key of Object.keys(body)) {
      if (!plan.properties.has(key)) return undefined;
      const v = body[key];
      if (v !== null && typeof v === 'object') return undefined;
      if (typeof v === 'string' && !isGoodText(v)) return undefined;
    }
    for (const [name, p] of plan.properties) {
      const v = body[name];
      if (p.conditions.some((c) => !c.constraints[0](body, v))) continue;
      for (const { check, constraints } of p.checks) if (!check(v, constraints)) return undefined;
    }
    const out = new metatype() as Record<string, unknown>;
    for (const key of Object.keys(body)) out[key] = body[key];
    return out;
  }
}
