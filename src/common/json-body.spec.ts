import type { FastifyRequest } from 'fastify';
import { parseJsonBody } from './json-body';

const parse = (text: string) =>
  new Promise<{ error: (Error & { code?: string }) | null; value?: unknown }>((done) =>
    parseJsonBody({} as FastifyRequest, text, (error, value) => done({ error: error as (Error & { code?: string }) | null, value })),
  );

describe('parsing JSON bodies', () => {
  it('reads a JSON value, "__proto__" and "constructor" as plain strings included', async () => {
    expect(await parse('{"constructor":"x","b":[1,{"c":"__proto__"}]}')).toEqual({ error: null, value: { constructor: 'x', b: [1, { c: '__proto__' }] } });
  });

  it('refuses a __proto__ member, or a constructor holding prototype, at any depth, saying which', async () => {
    const proto = await parse(`${'['.repeat(100_000)}{"__proto__":{"admin":true}}${']'.repeat(100_000)}`);
    expect(proto.error).toMatchObject({ code: 'FST_ERR_CTP_INVALID_JSON_BODY', message: expect.stringContaining('"__proto__" member') });
    const ctor = await parse('{"a":{"constructor":{"prototype":{"admin":true}}}}');
    expect(ctor.error?.message).toContain('"constructor" member holding "prototype"');
    // Spelled with escapes, the same members are the same members.
    expect((await parse('{"\\u005f_proto__":{"admin":true}}')).error?.message).toContain('"__proto__" member');
    expect((await parse('{"x":{"\\u0063onstructor":{"prototype":{}}}}')).error?.message).toContain('"constructor" member holding "prototype"');
  });

  it('reads a body that starts with a byte-order mark', async () => {
    expect(await parse('\ufeff{"a":1}')).toEqual({ error: null, value: { a: 1 } });
  });

  it('says why a body is not JSON, and that an empty one is empty', async () => {
    expect((await parse('{"a":1,}')).error).toMatchObject({ code: 'FST_ERR_CTP_INVALID_JSON_BODY', message: expect.stringMatching(/^the body is not valid JSON: /) });
    expect((await parse('')).error).toMatchObject({ code: 'FST_ERR_CTP_EMPTY_JSON_BODY' });
  });
});
