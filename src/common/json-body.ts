import type { FastifyRequest } from 'fastify';

/**
 * The service's parser of application/json bodies (in place of Fastify's, which Nest wraps):
 * JSON.parse, then a refusal of any member that could reach an object's prototype once the body
 * is merged or copied (`__proto__`, or `constructor` holding `prototype`), as Fastify's own
 * parser refuses them. The difference is the answer: the client learns which rule the body broke,
 * where Fastify says "not valid JSON" of a body that is valid JSON. Errors carry Fastify's codes,
 * so they become 400 INVALID_JSON problems like every other body error (problem.filter.ts).
 */
export function parseJsonBody(_request: FastifyRequest, body: string | Buffer, done: (error: Error | null, value?: unknown) => void): void {
  let text = typeof body === 'string' ? body : body.toString('utf8');
  // A byte-order mark before the JSON is not part of it (Fastify's parser skips it too).
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) {
    done(invalid('FST_ERR_CTP_EMPTY_JSON_BODY', "the body is empty, but its content-type is application/json"));
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    done(invalid('FST_ERR_CTP_INVALID_JSON_BODY', `the body is not valid JSON: ${(error as Error).message}`));
    return;
  }
  // Only a text that names one, or escapes a character (\u005f_proto__), can hold one: the walk is for the rare body that does.
  const member = (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) && prototypeMember(value);
  if (member) {
    done(invalid('FST_ERR_CTP_INVALID_JSON_BODY', `the body holds ${member}, which no request may carry (it could reach an object's prototype)`));
    return;
  }
  done(null, value);
}

function invalid(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, statusCode: 400 });
}

/** The first `__proto__` member, or `constructor` member holding `prototype`, anywhere in `value` (walked without recursion: any depth). */
function prototypeMember(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(v, '__proto__')) return 'a "__proto__" member';
    const ctor = (v as Record<string, unknown>).constructor;
    if (Object.prototype.hasOwnProperty.call(v, 'constructor') && ctor !== null && typeof ctor === 'object' && Object.prototype.hasOwnProperty.call(ctor, 'prototype')) {
      return 'a "constructor" member holding "prototype"';
    }
    for (const key of Object.keys(v)) stack.push((v as Record<string, unknown>)[key]);
  }
  return undefined;
}
