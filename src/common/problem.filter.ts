import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './domain/domain-error';
import { ConcurrencyError, StoreUnavailableError } from '../event-store/event-store.port';

/** code → HTTP status. One table, so a code means the same thing on every endpoint. */
export const STATUS_BY_CODE: Record<string, number> = {
  VALIDATION_FAILED: 400,
  INVALID_URL: 400,
  URI_TOO_LONG: 414,
  BAD_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  INVALID_JSON: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CAMPAIGN_NOT_FOUND: 404,
  WORKFLOW_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CAMPAIGN_EXISTS: 409,
  CAMPAIGN_COMPLETED: 409,
  GUARD_REJECTED: 409,
  CONCURRENCY_CONFLICT: 409,
  DELIVERABLE_ALREADY_APPROVED: 409,
  DELIVERABLE_ALREADY_REVIEWED: 409,
  DELIVERABLE_NOT_SUBMITTED: 409,
  STAGE_ALREADY_LEFT: 409,
  DEADLINE_UNCHANGED: 409,
  REVISION_MISMATCH: 412,
  PRECONDITION_INVALID: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNKNOWN_WORKFLOW: 422,
  UNKNOWN_UNIT: 422,
  UNKNOWN_DELIVERABLE: 422,
  UNKNOWN_STAGE: 422,
  UNKNOWN_TRANSITION: 422,
  DELIVERABLE_NOT_IN_STAGE: 422,
  DUPLICATE_UNIT: 422,
  INVALID_UNIT: 422,
  NO_UNITS: 422,
  INVALID_DEADLINE: 422,
  DEADLINE_REQUIRED: 422,
  REVIEW_NOT_REQUIRED: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  INVALID_QUERY: 400,
  TOO_MANY_REQUESTS: 429,
  STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
  // Democratic evaluations (docs/evaluations.md)
  EVALUATION_NOT_FOUND: 404,
  UNKNOWN_TOKEN: 403,
  TOKEN_ALREADY_USED: 409,
  EVALUATION_CLOSED: 409,
  EVALUATION_NOT_CLOSED: 409,
  EVALUATION_EXISTS: 409,
  INVALID_RATING: 422,
  INVALID_EVALUATION: 422,
  TOKEN_SHEET_TOO_LARGE: 422,
  UNKNOWN_EVALUATION: 422,
  EVALUATION_NOT_IN_STAGE: 422,
  BALLOT_KEY_CHANGED: 503,
  // Webhooks and reminder e-mails (docs/webhooks.md)
  WEBHOOK_NOT_FOUND: 404,
  DELIVERY_NOT_FOUND: 404,
  WEBHOOK_EXISTS: 409,
  WEBHOOK_LIMIT_REACHED: 409,
  DELIVERY_CANCELLED: 409,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) by their error code. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'INVALID_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
};

/** The members RFC 9457 and this service define; extensions may not replace them. */
const RESERVED_MEMBERS = new Set(['type', 'title', 'status', 'code', 'detail', 'instance', 'extensions']);

/** The problem for a code: its status (STATUS_BY_CODE), title and type URI, with `detail`. */
export function problemOf(code: string, detail: string): Problem {
  const status = STATUS_BY_CODE[code] ?? 400;
  return { type: `https://docket.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`, title: TITLES[status] ?? 'Error', status, code, detail };
}

/** Answers a problem as application/problem+json. */
export function sendProblem(reply: FastifyReply, problem: Problem): void {
  void reply.status(problem.status).header('Content-Type', 'application/problem+json; charset=utf-8').send(problem);
}

export function toProblem(error: unknown, instance?: string): Problem {
  // Nest wraps Fastify's own errors (bad JSON, body too large) in an HttpException; judge the original.
  const cause = error instanceof HttpException ? (error.cause as any) : undefined;
  if (cause && typeof cause.code === 'string' && cause.code.startsWith('FST_')) error = cause;
  let code = 'INTERNAL';
  let detail = 'internal error';
  let extensions: Record<string, unknown> = {};
  if (error instanceof DomainError) {
    code = error.code;
    detail = error.message;
    extensions = error.details;
  } else if (error instanceof ConcurrencyError) {
    code = error.code;
    detail = 'another change to this campaign landed first; retry with the current revision';
    extensions = { actual: error.actual };
  } else if (error instanceof StoreUnavailableError) {
    code = error.code;
    detail = 'the event store is unavailable; retry later';
  } else if (error && typeof error === 'object' && typeof (error as any).code === 'string' && (error as any).code.startsWith('FST_')) {
    // Fastify's own errors (bad JSON, body too large, wrong content type), raised before a route runs.
    const fst = (error as any).code as string;
    code = FASTIFY_CODES[fst] ?? (fst.startsWith('FST_ERR_CTP') ? 'INVALID_JSON' : (error as any).statusCode === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED');
    detail = String((error as { message?: unknown }).message);
  } else if (error instanceof HttpException) {
    const status = error.getStatus();
    code = status === 404 ? 'NOT_FOUND' : status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 405 ? 'METHOD_NOT_ALLOWED' : status === 429 ? 'TOO_MANY_REQUESTS' : status < 500 ? 'VALIDATION_FAILED' : 'INTERNAL';
    const body = error.getResponse() as any;
    detail = typeof body === 'string' ? body : Array.isArray(body?.message) ? body.message.join('; ') : (body?.message ?? error.message);
  } else if (error instanceof SyntaxError) {
    code = 'INVALID_JSON';
    detail = error.message;
  }
  const problem = problemOf(code, detail);
  // An error's details never overwrite the standard members (a deliverable's `status: "returned"`
  // must not become the HTTP status); the ones that would are kept under `extensions`.
  const clashing: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extensions)) {
    if (RESERVED_MEMBERS.has(key)) clashing[key] = value;
    else problem[key] = value;
  }
  if (Object.keys(clashing).length) problem.extensions = clashing;
  if (instance) problem.instance = instance;
  return problem;
}

/** One filter maps every error to RFC 9457 problem+json with a stable `code`. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Problem');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const req = ctx.getRequest<FastifyRequest>();
    // The client went away mid-request (its body cut short): nobody to answer, nothing went wrong here.
    if (req?.raw?.aborted === true || req?.raw?.socket?.destroyed === true) {
      this.logger.debug(`request ${req?.method} ${req?.url} aborted by the client`);
      return;
    }
    const problem = toProblem(exception, req?.url);
    if (problem.status >= 500) {
      if (problem.code === 'INTERNAL') this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      else this.logger.warn(`${problem.code}: ${(exception as Error)?.message}`);
    }
    if (problem.code === 'STORE_UNAVAILABLE') void reply.header('Retry-After', '5');
    sendProblem(reply, problem);
  }
}
