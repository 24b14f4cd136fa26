import { JwtCodec } from '../../src/auth/jwt';
import { LIMITS } from '../../src/campaigns/campaign.dto';
import { Docket, Reply, removeDir, startDocket, TEST_SECRET } from '../support/docket-harness';

/**
 * The public HTTP contract (DESIGN.md §4), proven over HTTP against the real app:
 * who may call what, how bad input is refused (with a stable code and without
 * appending anything), preconditions, idempotency, listing, and a small fuzz.
 */

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

const units3 = [
  { id: 'branch-1', name: '第一党支部' },
  { id: 'branch-2', name: '第二党支部' },
  { id: 'branch-3', name: '第三党支部' },
];

/** Every error answer is RFC 9457 problem+json with the stable fields, and never a 5xx. */
function expectProblem(r: Reply, status: number, code?: string) {
  if (r.status !== status) throw new Error(`expected ${status} ${code ?? ''}, got ${r.status}: ${r.raw.slice(0, 500)}`);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(typeof r.body).toBe('object');
  expect(typeof r.body.type).toBe('string');
  expect(typeof r.body.title).toBe('string');
  expect(r.body.status).toBe(status);
  expect(typeof r.body.code).toBe('string');
  expect(typeof r.body.detail).toBe('string');
  if (code) expect(r.body.code).toBe(code);
  return r.body;
}

describe('the public HTTP contract', () => {
  let docket: Docket;
  let seq = 0;
  const freshId = (prefix = 'c') => `${prefix}-${++seq}`;

  const call = (method: Method, url: string, opts: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}) =>
    docket.call(method, url, opts);

  const launch = async (id: string, extra: Record<string, unknown> = {}, units = units3) => {
    const r = await call('POST', '/api/campaigns', { body: { id, workflow: 'three-searches', title: `campaign ${id}`, units, ...extra } });
    if (r.status !== 201) throw new Error(`launch ${id}: ${r.status} ${r.raw}`);
    return r;
  };
  const revision = async (id: string): Promise<number> => {
    const r = await call('GET', `/api/campaigns/${id}`);
    if (r.status !== 200) throw new Error(`GET ${id}: ${r.status} ${r.raw}`);
    return r.body.revision;
  };
  const historyLength = async (id: string): Promise<number> => {
    const r = await call('GET', `/api/campaigns/${id}/history?limit=10000`, { token: docket.auditor });
    expect(r.status).toBe(200);
    return r.body.events.length;
  };
  const submit = (id: string, unit: string, deliverable: string, opts: { token?: string; headers?: Record<string, string>; title?: string } = {}) =>
    call('POST', `/api/campaigns/${id}/submissions`, {
      token: opts.token ?? docket.unitToken(unit),
      body: { unit, deliverable, title: opts.title ?? `${unit} ${deliverable}` },
      headers: opts.headers,
    });
  /** Launch a campaign and move it into rectification (where rectification-plan is reviewed). */
  const launchInRectification = async (id: string) => {
    await launch(id);
    for (const u of units3) expect((await submit(id, u.id, 'problem-list')).status).toBe(201);
    const moved = await call('POST', `/api/campaigns/${id}/transitions`, { body: { event: 'ADVANCE' } });
    expect(moved.status).toBe(200);
    expect(moved.body.stage).toBe('rectification');
  };

  /** The request is refused with `status`/`code`, and the campaign's revision and history are untouched. */
  const expectRefusedAppendingNothing = async (id: string, request: () => Promise<Reply>, status: number, code: string) => {
    const rev = await revision(id);
    const len = await historyLength(id);
    const r = await request();
    const problem = expectProblem(r, status, code);
    expect(await revision(id)).toBe(rev);
    expect(await historyLength(id)).toBe(len);
    return problem;
  };

  /** A launch is refused with `status`/`code` and the campaign does not exist afterwards. */
  const expectLaunchRefused = async (body: unknown, status: number, code: string, opts: { headers?: Record<string, string> } = {}) => {
    const id = body && typeof body === 'object' && typeof (body as any).id === 'string' ? (body as any).id : undefined;
    const before = (await call('GET', '/api/campaigns?limit=500')).body.total;
    const r = await call('POST', '/api/campaigns', { body, headers: opts.headers });
    const problem = expectProblem(r, status, code);
    if (id) expectProblem(await call('GET', `/api/campaigns/${id}`), 404, 'CAMPAIGN_NOT_FOUND');
    expect((await call('GET', '/api/campaigns?limit=500')).body.total).toBe(before);
    return problem;
  };

  beforeAll(async () => {
    docket = await startDocket();
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  describe('authentication', () => {
    let id: string;
    beforeAll(async () => {
      id = freshId('auth');
      await launch(id);
    });

    it('refuses a request without a token with 401 UNAUTHENTICATED', async () => {
      for (const [method, url] of [
        ['GET', '/api/campaigns'],
        ['GET', `/api/campaigns/${id}`],
        ['GET', `/api/campaigns/${id}/history`],
        ['GET', '/api/workflows'],
        ['POST', '/api/campaigns'],
        ['POST', `/api/campaigns/${id}/submissions`],
        ['POST', `/api/campaigns/${id}/transitions`],
      ] as [Method, string][]) {
        const r = await call(method, url, { token: null, body: method === 'POST' ? { event: 'ADVANCE' } : undefined });
        expectProblem(r, 401, 'UNAUTHENTICATED');
      }
    });

    it('refuses malformed, expired, wrong-secret and ill-claimed tokens with 401', async () => {
      const other = new JwtCodec('another-secret-another-secret-0123456789');
      const ours = new JwtCodec(TEST_SECRET);
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const bad: Record<string, string> = {
        garbage: 'Bearer not-a-jwt',
        threeDots: 'Bearer a.b.c',
        empty: 'Bearer ',
        basic: 'Basic YnVyZWF1OnNlY3JldA==',
        noScheme: docket.bureau,
        expired: `Bearer ${ours.mint({ sub: 'bureau-office', role: 'bureau' }, { expiresInSeconds: -60 })}`,
        wrongSecret: `Bearer ${other.mint({ sub: 'bureau-office', role: 'bureau' })}`,
        algNone: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', role: 'bureau', iat: now, exp: now + 600 })}.`,
        unknownRole: `Bearer ${ours.mint({ sub: 'root', role: 'admin' as any })}`,
        unitWithoutUnit: `Bearer ${ours.mint({ sub: 'someone', role: 'unit' })}`,
        noSub: `Bearer ${ours.mint({ sub: '', role: 'bureau' })}`,
        tampered: `Bearer ${docket.bureau.slice(0, -3)}${docket.bureau.slice(-3) === 'AAA' ? 'BBB' : 'AAA'}`,
      };
      for (const [name, authorization] of Object.entries(bad)) {
        const r = await call('GET', '/api/campaigns', { token: null, headers: { authorization } });
        try {
          expectProblem(r, 401, 'UNAUTHENTICATED');
        } catch (e) {
          throw new Error(`${name}: ${(e as Error).message}`);
        }
      }
    });

    it('refuses a caller without a valid token with 401 before reading its body, whatever the body, and appends nothing', async () => {
      const json = { 'content-type': 'application/json' };
      const oversize = JSON.stringify({ unit: 'branch-1', deliverable: 'problem-list', title: 't', content: 'x'.repeat(1024 * 1024 + 16) });
      const bodies: [string, string, Record<string, string>][] = [
        ['malformed JSON', '{"unit":', json],
        ['an oversize body', oversize, json],
        ['a media type it does not read', '<submission/>', { 'content-type': 'application/xml' }],
      ];
      for (const [what, body, headers] of bodies) {
        for (const authorization of [undefined, 'Bearer not-a-jwt', `Bearer ${docket.bureau.slice(0, -3)}${docket.bureau.slice(-3) === 'AAA' ? 'BBB' : 'AAA'}`]) {
          await expectRefusedAppendingNothing(
            id,
            () => call('POST', `/api/campaigns/${id}/submissions`, { token: null, body, headers: { ...headers, ...(authorization ? { authorization } : {}) } }),
            401,
            'UNAUTHENTICATED',
          ).catch((e: Error) => {
            throw new Error(`${what}, ${authorization ? 'bad token' : 'no token'}: ${e.message}`);
          });
        }
      }
      // With a valid token the body is judged as before.
      expectProblem(await call('POST', `/api/campaigns/${id}/submissions`, { body: '{"unit":', headers: json }), 400, 'INVALID_JSON');
      expectProblem(await call('POST', `/api/campaigns/${id}/submissions`, { body: oversize, headers: json }), 413, 'PAYLOAD_TOO_LARGE');
    });

    it('reads the body of an endpoint that needs no token as before: a malformed ballot is 400 INVALID_JSON', async () => {
      const r = await call('POST', '/api/evaluations/no-such-evaluation/ballots', { token: null, body: '{"token":', headers: { 'content-type': 'application/json' } });
      expectProblem(r, 400, 'INVALID_JSON');
    });

    it('lets GET /health, /docs and /docs-json through without a token', async () => {
      const health = await call('GET', '/health', { token: null });
      expect(health.status).toBe(200);
      expect(health.body.status).toBe('ok');
      const docs = await call('GET', '/docs', { token: null });
      expect(docs.status).toBe(200);
      expect(docs.headers['content-type']).toMatch(/text\/html/);
      const json = await call('GET', '/docs-json', { token: null });
      expect(json.status).toBe(200);
      expect(json.body.openapi).toMatch(/^3\./);
      expect(Object.keys(json.body.paths)).toEqual(expect.arrayContaining(['/api/campaigns', '/api/campaigns/{id}/transitions']));
    });
  });

  describe('authorisation by role', () => {
    let id: string;
    let other: string;
    beforeAll(async () => {
      id = freshId('roles');
      other = freshId('roles-other');
      await launch(id);
      await launch(other, {}, [{ id: 'branch-9', name: '第九党支部' }]);
    });

    it('refuses a unit submitting for another unit with 403 FORBIDDEN and appends nothing', async () => {
      await expectRefusedAppendingNothing(id, () => submit(id, 'branch-2', 'problem-list', { token: docket.unitToken('branch-1') }), 403, 'FORBIDDEN');
      // and a unit of another campaign cannot submit for a unit of this one either
      await expectRefusedAppendingNothing(id, () => submit(id, 'branch-1', 'problem-list', { token: docket.unitToken('branch-9') }), 403, 'FORBIDDEN');
    });

    it('lets a unit submit for itself and the bureau submit for any unit', async () => {
      expect((await submit(id, 'branch-1', 'problem-list')).status).toBe(201);
      expect((await submit(id, 'branch-2', 'problem-list', { token: docket.bureau })).status).toBe(201);
    });

    it('answers a unit submitting to a campaign it is not part of as if the campaign did not exist (404, nothing appended)', async () => {
      await expectRefusedAppendingNothing(other, () => submit(other, 'branch-1', 'problem-list'), 404, 'CAMPAIGN_NOT_FOUND');
      // not even a precondition or an idempotency answer may tell it the campaign exists
      await expectRefusedAppendingNothing(other, () => submit(other, 'branch-1', 'problem-list', { headers: { 'if-match': '"99"' } }), 404, 'CAMPAIGN_NOT_FOUND');
      await expectRefusedAppendingNothing(other, () => submit(other, 'branch-1', 'problem-list', { headers: { 'idempotency-key': 'probe' } }), 404, 'CAMPAIGN_NOT_FOUND');
      const missing = await submit('no-such-campaign', 'branch-1', 'problem-list');
      expectProblem(missing, 404, 'CAMPAIGN_NOT_FOUND');
    });

    it('refuses unit tokens on review, transition, launch, history, state and verify with 403', async () => {
      const unit = docket.unitToken('branch-1');
      const before = await revision(id);
      const attempts: [Method, string, unknown][] = [
        ['POST', `/api/campaigns/${id}/reviews`, { unit: 'branch-1', deliverable: 'problem-list', decision: 'approved' }],
        ['POST', `/api/campaigns/${id}/transitions`, { event: 'ADVANCE' }],
        ['POST', '/api/campaigns', { id: freshId('by-unit'), workflow: 'three-searches', title: 't', units: units3 }],
        ['GET', `/api/campaigns/${id}/history`, undefined],
        ['GET', `/api/campaigns/${id}/state?revision=0`, undefined],
        ['GET', `/api/campaigns/${id}/verify`, undefined],
      ];
      for (const [method, url, body] of attempts) expectProblem(await call(method, url, { token: unit, body }), 403, 'FORBIDDEN');
      expect(await revision(id)).toBe(before);
    });

    it('refuses auditors every POST with 403 and appends nothing', async () => {
      const before = await revision(id);
      const attempts: [string, unknown][] = [
        ['/api/campaigns', { id: freshId('by-auditor'), workflow: 'three-searches', title: 't', units: units3 }],
        [`/api/campaigns/${id}/submissions`, { unit: 'branch-3', deliverable: 'problem-list', title: 't' }],
        [`/api/campaigns/${id}/reviews`, { unit: 'branch-1', deliverable: 'problem-list', decision: 'approved' }],
        [`/api/campaigns/${id}/transitions`, { event: 'ADVANCE' }],
        [`/api/campaigns/${id}/transitions`, { nonsense: [1, { deeper: null }] }],
      ];
      for (const [url, body] of attempts) expectProblem(await call('POST', url, { token: docket.auditor, body }), 403, 'FORBIDDEN');
      expect(await revision(id)).toBe(before);
      expect((await call('GET', `/api/campaigns/${id}/history`, { token: docket.auditor })).status).toBe(200);
      expect((await call('GET', `/api/campaigns/${id}/verify`, { token: docket.auditor })).status).toBe(200);
    });

    it('shows a unit only its own row of a campaign', async () => {
      const r = await call('GET', `/api/campaigns/${id}`, { token: docket.unitToken('branch-2') });
      expect(r.status).toBe(200);
      expect(r.body.units.map((u: any) => u.id)).toEqual(['branch-2']);
      for (const t of r.body.transitions) {
        for (const b of t.blockers) if (b.units) expect(b.units.every((u: string) => u === 'branch-2')).toBe(true);
      }
      const bureau = await call('GET', `/api/campaigns/${id}`);
      expect(bureau.body.units.map((u: any) => u.id)).toEqual(['branch-1', 'branch-2', 'branch-3']);
    });

    it('lists for a unit only the campaigns it belongs to', async () => {
      const r = await call('GET', '/api/campaigns?limit=500', { token: docket.unitToken('branch-9') });
      expect(r.status).toBe(200);
      expect(r.body.items.map((c: any) => c.id)).toEqual([other]);
      expect(r.body.total).toBe(1);
      const none = await call('GET', '/api/campaigns', { token: docket.unitToken('branch-404') });
      expect(none.status).toBe(200);
      expect(none.body).toMatchObject({ total: 0, items: [] });
    });

    it('answers 404 to a unit asking for a campaign it is not part of', async () => {
      expectProblem(await call('GET', `/api/campaigns/${id}`, { token: docket.unitToken('branch-9') }), 404, 'CAMPAIGN_NOT_FOUND');
      expectProblem(await call('GET', `/api/campaigns/${other}`, { token: docket.unitToken('branch-1') }), 404, 'CAMPAIGN_NOT_FOUND');
    });
  });

  describe('bad input is refused with a stable code and appends nothing', () => {
    let id: string;
    beforeAll(async () => {
      id = freshId('bad');
      await launch(id);
    });

    it('refuses an unknown workflow with 422 UNKNOWN_WORKFLOW', async () => {
      await expectLaunchRefused({ id: freshId(), workflow: 'four-searches', title: 't', units: units3 }, 422, 'UNKNOWN_WORKFLOW');
      await expectLaunchRefused({ id: freshId(), workflow: 'three-searches', workflowVersion: 99, title: 't', units: units3 }, 422, 'UNKNOWN_WORKFLOW');
    });

    it('refuses a duplicate campaign id with 409 CAMPAIGN_EXISTS', async () => {
      const before = await historyLength(id);
      const r = await call('POST', '/api/campaigns', { body: { id, workflow: 'three-searches', title: 'again', units: [{ id: 'x', name: 'x' }] } });
      expectProblem(r, 409, 'CAMPAIGN_EXISTS');
      expect(await historyLength(id)).toBe(before);
      expect((await call('GET', `/api/campaigns/${id}`)).body.title).toBe(`campaign ${id}`);
    });

    it('refuses duplicate unit ids with 422 DUPLICATE_UNIT', async () => {
      const p = await expectLaunchRefused(
        { id: freshId(), workflow: 'three-searches', title: 't', units: [...units3, { id: 'branch-2', name: 'twice' }] },
        422,
        'DUPLICATE_UNIT',
      );
      expect(p.unit).toBe('branch-2');
    });

    it('refuses an empty unit list and more units than LIMITS.units with 400 VALIDATION_FAILED', async () => {
      await expectLaunchRefused({ id: freshId(), workflow: 'three-searches', title: 't', units: [] }, 400, 'VALIDATION_FAILED');
      const many = Array.from({ length: LIMITS.units + 1 }, (_, i) => ({ id: `u${i}`, name: `u${i}` }));
      const p = await expectLaunchRefused({ id: freshId(), workflow: 'three-searches', title: 't', units: many }, 400, 'VALIDATION_FAILED');
      expect(p.detail).toMatch(/units/);
    });

    it('refuses wrong types with 400 VALIDATION_FAILED naming the fields', async () => {
      const p = await expectLaunchRefused({ id: freshId(), workflow: 'three-searches', title: 5, units: 'x' }, 400, 'VALIDATION_FAILED');
      expect(p.errors.map((e: any) => e.field)).toEqual(expect.arrayContaining(['title', 'units']));
      const nested = await expectLaunchRefused(
        { id: freshId(), workflow: 'three-searches', title: 't', units: [{ id: 7, name: null }, null, 'x'] },
        400,
        'VALIDATION_FAILED',
      );
      expect(nested.errors.map((e: any) => e.field).join(' ')).toMatch(/units/);
      // An array inside the array is not a unit (a unit without an id once reached the log and stopped the read models).
      for (const units of [[[{ id: 'b1', name: 'n' }]], [[]]]) {
        const inner = await expectLaunchRefused({ id: freshId(), workflow: 'three-searches', title: 't', units }, 400, 'VALIDATION_FAILED');
        expect(inner.errors.map((e: any) => e.field).join(' ')).toMatch(/units/);
      }
      for (const body of [null, [], [1, 2], 'x', 42, true]) {
        await expectLaunchRefused(body, 400, body === null ? 'VALIDATION_FAILED' : 'VALIDATION_FAILED', {
          headers: { 'content-type': 'application/json' },
        }).catch(async (e) => {
          // a bare JSON primitive may also be refused as not-an-object JSON; either way a 400
          const r = await call('POST', '/api/campaigns', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
          if (r.status !== 400) throw e;
          expectProblem(r, 400);
        });
      }
      await expectRefusedAppendingNothing(
        id,
        () => call('POST', `/api/campaigns/${id}/submissions`, { token: docket.bureau, body: { unit: ['branch-1'], deliverable: 1, title: {} } }),
        400,
        'VALIDATION_FAILED',
      );
      await expectRefusedAppendingNothing(
        id,
        () => call('POST', `/api/campaigns/${id}/reviews`, { body: { unit: 'branch-1', deliverable: 'problem-list', decision: 'maybe' } }),
        400,
        'VALIDATION_FAILED',
      );
      await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body: { event: 7 } }), 400, 'VALIDATION_FAILED');
      await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body: { event: 'advance' } }), 400, 'VALIDATION_FAILED');
    });

    it('refuses a body nested thousands of levels deep with 400 VALIDATION_FAILED, on every endpoint that validates one', async () => {
      const id = freshId();
      await launch(id);
      const deep = '{"title":' + '{"a":'.repeat(3000) + '1' + '}'.repeat(3001);
      const deepArray = '{"title":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
      for (const [path, raw] of [
        ['/api/campaigns', deep],
        [`/api/campaigns/${id}/submissions`, deep],
        [`/api/campaigns/${id}/reviews`, deepArray],
        [`/api/campaigns/${id}/transitions`, deep],
        ['/api/webhooks', deepArray],
      ]) {
        const r = await call('POST', path, { body: raw, headers: { 'content-type': 'application/json' } });
        expectProblem(r, 400, 'VALIDATION_FAILED');
        expect(r.body.detail).toMatch(/nested deeper than/);
      }
    });

    it('refuses text that is not well-formed Unicode (a lone surrogate) or holds a NUL, appending nothing', async () => {
      const id = freshId();
      await launch(id);
      for (const title of ['\ud800', 'a\udfffb', 'nul\u0000inside']) {
        const p = await expectRefusedAppendingNothing(id, () => submit(id, 'branch-1', 'problem-list', { token: docket.bureau, title }), 400, 'VALIDATION_FAILED');
        expect(p.detail).toMatch(/well-formed Unicode, or a NUL/);
      }
      await expectLaunchRefused({ id: freshId(), workflow: 'three-searches', title: 't', units: [{ id: 'b-1', name: '\udc00' }] }, 400, 'VALIDATION_FAILED');
      expect((await submit(id, 'branch-1', 'problem-list', { token: docket.bureau, title: '查找问题清单 😀' })).status).toBe(201);
    });

    it('refuses unknown fields with 400 VALIDATION_FAILED naming the field', async () => {
      const p = await expectLaunchRefused(
        { id: freshId(), workflow: 'three-searches', title: 't', units: units3, admin: true },
        400,
        'VALIDATION_FAILED',
      );
      expect(p.detail).toMatch(/admin/);
      expect(p.errors.map((e: any) => e.field)).toContain('admin');
      const nested = await expectLaunchRefused(
        { id: freshId(), workflow: 'three-searches', title: 't', units: [{ id: 'a', name: 'a', role: 'x' }] },
        400,
        'VALIDATION_FAILED',
      );
      expect(nested.detail).toMatch(/role/);
      for (const [path, body] of [
        ['submissions', { unit: 'branch-1', deliverable: 'problem-list', title: 't', revision: 3 }],
        ['reviews', { unit: 'branch-1', deliverable: 'problem-list', decision: 'approved', stage: 'learning' }],
        ['transitions', { event: 'ADVANCE', target: 'concluded' }],
      ] as [string, Record<string, unknown>][]) {
        const extra = Object.keys(body).pop()!;
        const problem = await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/${path}`, { body }), 400, 'VALIDATION_FAILED');
        expect(problem.detail).toContain(extra);
      }
    });

    it('refuses malformed JSON with 400 INVALID_JSON', async () => {
      const json = { 'content-type': 'application/json' };
      await expectLaunchRefused('{"id": "x", "workflow":', 400, 'INVALID_JSON', { headers: json });
      for (const raw of ['{', '{"event": "ADVANCE",}', "{'event': 'ADVANCE'}", 'ADVANCE', '{"event": "ADVANCE"} trailing', '\u0000']) {
        await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body: raw, headers: json }), 400, 'INVALID_JSON');
      }
      // an empty body declared as JSON
      await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body: '', headers: json }), 400, 'INVALID_JSON');
      // prototype poisoning is refused, not merged, and the answer says why
      for (const [body, named] of [
        ['{"event":"ADVANCE","__proto__":{"admin":true}}', '"__proto__"'],
        ['{"event":"ADVANCE","x":[{"constructor":{"prototype":{"admin":true}}}]}', '"constructor"'],
      ]) {
        const poisoned = await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body, headers: json }), 400, 'INVALID_JSON');
        expect(poisoned.detail).toContain(named);
      }
    });

    it('says what is wrong with a body that is not JSON, and lets a value merely named constructor through to validation', async () => {
      const json = { 'content-type': 'application/json' };
      const broken = await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body: '{"event": "ADVANCE",}', headers: json }), 400, 'INVALID_JSON');
      expect(broken.detail).toMatch(/^the body is not valid JSON: /);
      const empty = await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body: '', headers: json }), 400, 'INVALID_JSON');
      expect(empty.detail).toContain('empty');
      // "constructor" as a plain string value is JSON like any other: the DTO decides (not an event name).
      await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body: '{"event":"constructor"}', headers: json }), 400, 'VALIDATION_FAILED');
    });

    it('refuses a body of a media type it does not read with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      for (const type of ['application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
        await expectRefusedAppendingNothing(
          id,
          () => call('POST', `/api/campaigns/${id}/transitions`, { body: '{"event":"COMPLETE"}', headers: { 'content-type': type } }),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        );
      }
      // text/plain is read as a string, never as JSON: a 400, not a transition
      await expectRefusedAppendingNothing(
        id,
        () => call('POST', `/api/campaigns/${id}/transitions`, { body: '{"event":"COMPLETE"}', headers: { 'content-type': 'text/plain' } }),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('refuses a body over the configured bodyLimit (1 MiB) with 413 PAYLOAD_TOO_LARGE', async () => {
      const huge = JSON.stringify({ id: freshId(), workflow: 'three-searches', title: 't', units: units3, pad: 'x'.repeat(1024 * 1024) });
      await expectLaunchRefused(huge, 413, 'PAYLOAD_TOO_LARGE', { headers: { 'content-type': 'application/json' } });
      const big = JSON.stringify({ unit: 'branch-1', deliverable: 'problem-list', title: 't', content: '字'.repeat(400_000) });
      expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);
      await expectRefusedAppendingNothing(
        id,
        () => call('POST', `/api/campaigns/${id}/submissions`, { token: docket.bureau, body: big, headers: { 'content-type': 'application/json' } }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
    });

    it('refuses content longer than LIMITS.content with 400 and accepts it at the limit', async () => {
      await expectRefusedAppendingNothing(
        id,
        () =>
          call('POST', `/api/campaigns/${id}/submissions`, {
            token: docket.bureau,
            body: { unit: 'branch-3', deliverable: 'problem-list', title: 't', content: 'x'.repeat(LIMITS.content + 1) },
          }),
        400,
        'VALIDATION_FAILED',
      );
      const ok = await call('POST', `/api/campaigns/${id}/submissions`, {
        token: docket.bureau,
        body: { unit: 'branch-3', deliverable: 'problem-list', title: 't', content: 'x'.repeat(LIMITS.content) },
      });
      expect(ok.status).toBe(201);
    });

    it('refuses a deadline for an unknown or final stage with 422 UNKNOWN_STAGE, and a malformed one with 400', async () => {
      const base = { workflow: 'three-searches', title: 't', units: units3 };
      const p = await expectLaunchRefused({ ...base, id: freshId(), deadlines: { 'no-such-stage': '2013-12-31T16:00:00Z' } }, 422, 'UNKNOWN_STAGE');
      expect(p.stage).toBe('no-such-stage');
      await expectLaunchRefused({ ...base, id: freshId(), deadlines: { concluded: '2013-12-31T16:00:00Z' } }, 422, 'UNKNOWN_STAGE');
      await expectLaunchRefused({ ...base, id: freshId(), deadlines: { learning: 'next tuesday' } }, 400, 'VALIDATION_FAILED');
      // Date.parse would roll these over (31 February into March, 24:00 into the next day) or take them as they come.
      for (const impossible of ['2013-02-31T00:00:00Z', '2030-01-01T24:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59-23:59']) {
        await expectLaunchRefused({ ...base, id: freshId(), deadlines: { learning: impossible } }, 400, 'VALIDATION_FAILED');
      }
      const id = freshId();
      await launch(id);
      await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/deadlines`, { body: { stage: 'learning', deadline: '2030-02-31T00:00:00Z' } }), 400, 'VALIDATION_FAILED');
      expectProblem(await call('GET', `/api/campaigns/${id}/history?from=2030-02-31`), 400, 'VALIDATION_FAILED');
      expectProblem(await call('GET', `/api/campaigns/${id}/state?at=2013-09-01T24:00:00Z`), 400, 'VALIDATION_FAILED');
      await expectLaunchRefused({ ...base, id: freshId(), deadlines: ['2013-12-31T16:00:00Z'] }, 400, 'VALIDATION_FAILED');
      await expectLaunchRefused({ ...base, id: freshId(), deadlines: 'soon' }, 400, 'VALIDATION_FAILED');
    });

    it('refuses an unknown unit with 422 UNKNOWN_UNIT', async () => {
      const p = await expectRefusedAppendingNothing(id, () => submit(id, 'branch-404', 'problem-list', { token: docket.bureau }), 422, 'UNKNOWN_UNIT');
      expect(p.unit).toBe('branch-404');
      await expectRefusedAppendingNothing(
        id,
        () => call('POST', `/api/campaigns/${id}/reviews`, { body: { unit: 'branch-404', deliverable: 'problem-list', decision: 'approved' } }),
        422,
        'UNKNOWN_UNIT',
      );
    });

    it('refuses an unknown deliverable with 422 UNKNOWN_DELIVERABLE', async () => {
      const p = await expectRefusedAppendingNothing(id, () => submit(id, 'branch-1', 'no-such-thing'), 422, 'UNKNOWN_DELIVERABLE');
      expect(p.expected).toEqual(['problem-list']);
    });

    it('refuses a deliverable of another stage with 422 DELIVERABLE_NOT_IN_STAGE', async () => {
      const p = await expectRefusedAppendingNothing(id, () => submit(id, 'branch-1', 'rectification-plan'), 422, 'DELIVERABLE_NOT_IN_STAGE');
      expect(p).toMatchObject({ stage: 'learning', deliverableStage: 'rectification' });
    });

    it('refuses an unknown transition event with 422 UNKNOWN_TRANSITION', async () => {
      const p = await expectRefusedAppendingNothing(id, () => call('POST', `/api/campaigns/${id}/transitions`, { body: { event: 'COMPLETE' } }), 422, 'UNKNOWN_TRANSITION');
      expect(p.events).toEqual(['ADVANCE']);
    });

    it('refuses a transition whose guard does not hold with 409 GUARD_REJECTED and the blockers', async () => {
      const c = freshId('guard');
      await launch(c);
      await submit(c, 'branch-1', 'problem-list');
      const p = await expectRefusedAppendingNothing(c, () => call('POST', `/api/campaigns/${c}/transitions`, { body: { event: 'ADVANCE' } }), 409, 'GUARD_REJECTED');
      expect(p.blockers).toEqual([{ guard: 'allUnitsSubmitted', deliverable: 'problem-list', units: ['branch-2', 'branch-3'] }]);
    });

    it('refuses a review of a deliverable the bureau does not review with 422 REVIEW_NOT_REQUIRED', async () => {
      await submit(id, 'branch-1', 'problem-list');
      await expectRefusedAppendingNothing(
        id,
        () => call('POST', `/api/campaigns/${id}/reviews`, { body: { unit: 'branch-1', deliverable: 'problem-list', decision: 'approved' } }),
        422,
        'REVIEW_NOT_REQUIRED',
      );
    });

    it('refuses a review of a deliverable not yet submitted with 409 DELIVERABLE_NOT_SUBMITTED', async () => {
      const c = freshId('review');
      await launchInRectification(c);
      await expectRefusedAppendingNothing(
        c,
        () => call('POST', `/api/campaigns/${c}/reviews`, { body: { unit: 'branch-1', deliverable: 'rectification-plan', decision: 'approved' } }),
        409,
        'DELIVERABLE_NOT_SUBMITTED',
      );
      // once submitted it can be reviewed once; a second review is refused until resubmitted
      expect((await submit(c, 'branch-1', 'rectification-plan')).status).toBe(201);
      const reviewed = await call('POST', `/api/campaigns/${c}/reviews`, { body: { unit: 'branch-1', deliverable: 'rectification-plan', decision: 'returned', comment: '不够具体' } });
      expect(reviewed.status).toBe(201);
      expect(reviewed.body).toMatchObject({ unit: 'branch-1', deliverable: 'rectification-plan', status: 'returned' });
      const again = await expectRefusedAppendingNothing(
        c,
        () => call('POST', `/api/campaigns/${c}/reviews`, { body: { unit: 'branch-1', deliverable: 'rectification-plan', decision: 'approved' } }),
        409,
        'DELIVERABLE_ALREADY_REVIEWED',
      );
      // the deliverable's status travels as an extension; it never replaces the problem's HTTP status
      expect(again.extensions).toEqual({ status: 'returned' });
    });

    it('answers an invalid or unknown campaign id in the path with 404, for every route', async () => {
      const ids = ['UPPER', 'has_underscore', '-leading-dash', 'x'.repeat(65), '%E5%AD%97', '..%2F..%2Fetc', 'a%00b', 'no-such-campaign', '%20'];
      for (const bad of ids) {
        for (const [method, suffix, body] of [
          ['GET', '', undefined],
          ['GET', '/history', undefined],
          ['GET', '/state?revision=0', undefined],
          ['GET', '/verify', undefined],
          ['POST', '/submissions', { unit: 'branch-1', deliverable: 'problem-list', title: 't' }],
          ['POST', '/reviews', { unit: 'branch-1', deliverable: 'problem-list', decision: 'approved' }],
          ['POST', '/transitions', { event: 'ADVANCE' }],
        ] as [Method, string, unknown][]) {
          const r = await call(method, `/api/campaigns/${bad}${suffix}`, { body });
          try {
            expectProblem(r, 404);
            expect(['CAMPAIGN_NOT_FOUND', 'NOT_FOUND']).toContain(r.body.code);
          } catch (e) {
            throw new Error(`${method} /api/campaigns/${bad}${suffix}: ${(e as Error).message}`);
          }
        }
      }
      // a launch with an invalid id is a validation failure, not a new campaign
      await expectLaunchRefused({ id: 'Bad_Id', workflow: 'three-searches', title: 't', units: units3 }, 400, 'VALIDATION_FAILED');
    });

    it('refuses bad query strings with 400, out-of-range numbers included', async () => {
      for (const q of ['limit=0', 'limit=abc', 'offset=-1', 'offset=1e21', 'limit=99999999999999999999', 'status=paused', 'overdue=maybe', 'stage=' + 'x'.repeat(65), 'bogus=1']) {
        expectProblem(await call('GET', `/api/campaigns?${q}`), 400);
      }
      for (const q of ['', 'revision=1&at=2013-01-01', 'revision=-1', 'revision=abc', 'at=yesterday', 'revision=999', 'revision=999999999999999999999', 'revision=9007199254740993', 'at=2013-13-45']) {
        expectProblem(await call('GET', `/api/campaigns/${id}/state?${q}`), 400);
      }
      for (const q of ['fromRevision=-1', 'fromRevision=1e21', 'limit=0', 'limit=x', 'limit=1e400']) {
        expectProblem(await call('GET', `/api/campaigns/${id}/history?${q}`), 400);
      }
    });

    it('answers unknown routes and methods as problem+json, never 5xx', async () => {
      for (const [method, url] of [
        ['GET', '/api/nothing'],
        ['DELETE', `/api/campaigns/${id}`],
        ['PUT', `/api/campaigns/${id}`],
        ['PATCH', '/api/campaigns'],
        ['GET', `/api/campaigns/${id}/submissions`],
      ] as [Method, string][]) {
        const r = await call(method, url, { body: method === 'GET' || method === 'DELETE' ? undefined : { x: 1 } });
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        expectProblem(r, r.status);
      }
    });
  });

  describe('preconditions and idempotency', () => {
    let id: string;
    beforeAll(async () => {
      id = freshId('pre');
      await launch(id);
    });

    it('gives GET an ETag equal to the revision in quotes, and writes an ETag of the new revision', async () => {
      const r = await call('GET', `/api/campaigns/${id}`);
      expect(r.headers.etag).toBe(`"${r.body.revision}"`);
      const s = await submit(id, 'branch-1', 'problem-list');
      expect(s.status).toBe(201);
      expect(s.headers.etag).toBe(`"${s.body.revision}"`);
      const after = await call('GET', `/api/campaigns/${id}`);
      expect(after.body.revision).toBe(s.body.revision);
      expect(after.headers.etag).toBe(`"${after.body.revision}"`);
    });

    it('accepts If-Match with the current revision in every accepted form', async () => {
      for (const [i, form] of (['"%"', 'W/"%"', '%'] as const).entries()) {
        const rev = await revision(id);
        const unit = units3[i].id;
        const r = await submit(id, unit, 'problem-list', { headers: { 'if-match': form.replace('%', String(rev)) }, title: `v${i}` });
        expect(r.status).toBe(201);
        expect(r.body.revision).toBe(rev + 1);
      }
    });

    it('refuses If-Match with a stale revision with 412 REVISION_MISMATCH and appends nothing', async () => {
      const rev = await revision(id);
      const p = await expectRefusedAppendingNothing(
        id,
        () => submit(id, 'branch-1', 'problem-list', { headers: { 'if-match': `"${rev - 1}"` } }),
        412,
        'REVISION_MISMATCH',
      );
      expect(p).toMatchObject({ expected: rev - 1, actual: rev });
      await expectRefusedAppendingNothing(
        id,
        () => call('POST', `/api/campaigns/${id}/transitions`, { body: { event: 'ADVANCE' }, headers: { 'if-match': `"${rev + 1}"` } }),
        412,
        'REVISION_MISMATCH',
      );
    });

    it('refuses a malformed If-Match with 400 and appends nothing', async () => {
      for (const bad of ['"abc"', '-1', '"1.5"', 'W/', '"1", "2"', 'x'.repeat(300), '1e3']) {
        await expectRefusedAppendingNothing(id, () => submit(id, 'branch-1', 'problem-list', { headers: { 'if-match': bad } }), 400, 'PRECONDITION_INVALID');
      }
    });

    it('answers a repeated submission with the same Idempotency-Key identically and appends nothing', async () => {
      const headers = { 'idempotency-key': 'submit-branch-2-once' };
      const first = await submit(id, 'branch-2', 'problem-list', { headers, title: 'idempotent' });
      expect(first.status).toBe(201);
      const len = await historyLength(id);
      for (let i = 0; i < 3; i++) {
        const again = await submit(id, 'branch-2', 'problem-list', { headers, title: 'idempotent' });
        expect(again.status).toBe(first.status);
        expect(again.raw).toBe(first.raw);
        expect(again.headers.etag).toBe(first.headers.etag);
      }
      expect(await historyLength(id)).toBe(len);
    });

    it('answers a repeated transition with the same Idempotency-Key identically and appends nothing', async () => {
      const c = freshId('idem');
      await launch(c);
      for (const u of units3) await submit(c, u.id, 'problem-list');
      const headers = { 'idempotency-key': 'advance-1' };
      const first = await call('POST', `/api/campaigns/${c}/transitions`, { body: { event: 'ADVANCE', reason: 'meeting' }, headers });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ id: c, event: 'ADVANCE', from: 'learning', stage: 'rectification' });
      const len = await historyLength(c);
      const rev = await revision(c);
      // even with a now-stale If-Match, the repeat is answered from the log
      const again = await call('POST', `/api/campaigns/${c}/transitions`, { body: { event: 'ADVANCE', reason: 'meeting' }, headers });
      expect(again.status).toBe(first.status);
      expect(again.raw).toBe(first.raw);
      expect(await historyLength(c)).toBe(len);
      expect(await revision(c)).toBe(rev);
      expect((await call('GET', `/api/campaigns/${c}`)).body.stage).toBe('rectification');

      const reused = await expectRefusedAppendingNothing(
        c,
        () => call('POST', `/api/campaigns/${c}/transitions`, { body: { event: 'ADVANCE', reason: 'another meeting' }, headers }),
        422,
        'IDEMPOTENCY_KEY_REUSED',
      );
      expect(reused.idempotencyKey).toBe('advance-1');
      await expectRefusedAppendingNothing(c, () => submit(c, 'branch-1', 'rectification-plan', { headers }), 422, 'IDEMPOTENCY_KEY_REUSED');
    });

    it('refuses an Idempotency-Key reused with a different submission with 422 IDEMPOTENCY_KEY_REUSED', async () => {
      const headers = { 'idempotency-key': 'submit-branch-3-once' };
      expect((await submit(id, 'branch-3', 'problem-list', { headers, title: 'first' })).status).toBe(201);
      await expectRefusedAppendingNothing(id, () => submit(id, 'branch-3', 'problem-list', { headers, title: 'second' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    });

    it('refuses a malformed Idempotency-Key with 400', async () => {
      for (const bad of ['', 'has space', 'x'.repeat(201), 'ключ']) {
        await expectRefusedAppendingNothing(id, () => submit(id, 'branch-1', 'problem-list', { headers: { 'idempotency-key': bad } }), 400, 'VALIDATION_FAILED');
      }
    });

    it('answers a repeated launch with the same Idempotency-Key identically', async () => {
      const c = freshId('idem-launch');
      const body = { id: c, workflow: 'three-searches', title: 't', units: units3 };
      const headers = { 'idempotency-key': 'launch-once' };
      const first = await call('POST', '/api/campaigns', { body, headers });
      expect(first.status).toBe(201);
      const again = await call('POST', '/api/campaigns', { body, headers });
      expect(again.status).toBe(201);
      expect(again.raw).toBe(first.raw);
      expect(await historyLength(c)).toBe(1);
    });

    it('answers a repeated launch without an id but with the same Idempotency-Key with the same campaign', async () => {
      const body = { workflow: 'three-searches', title: 't', units: units3 };
      const headers = { 'idempotency-key': 'launch-without-id' };
      const first = await call('POST', '/api/campaigns', { body, headers });
      expect(first.status).toBe(201);
      const again = await call('POST', '/api/campaigns', { body, headers });
      expect(again.raw).toBe(first.raw);
      expect(await historyLength(first.body.id)).toBe(1);
      const other = await call('POST', '/api/campaigns', { body, headers: { 'idempotency-key': 'another-launch' } });
      expect(other.body.id).not.toBe(first.body.id);
    });
  });

  describe('GET /api/campaigns', () => {
    const ids: string[] = [];
    beforeAll(async () => {
      // a separate service so the counts are exact
      await docket.close();
      removeDir(docket.dataDir);
      docket = await startDocket();
      for (let i = 0; i < 5; i++) {
        const c = `list-${i}`;
        ids.push(c);
        await launch(c);
      }
      await call('POST', '/api/campaigns', { body: { id: 'list-other', workflow: 'strive-for-excellence', title: 'other', units: units3 } }).then((r) =>
        expect(r.status).toBe(201),
      );
      for (const c of ids.slice(0, 2)) {
        for (const u of units3) await submit(c, u.id, 'problem-list');
        expect((await call('POST', `/api/campaigns/${c}/transitions`, { body: { event: 'ADVANCE' } })).status).toBe(200);
      }
    });

    it('lists every campaign with total and items', async () => {
      const r = await call('GET', '/api/campaigns');
      expect(r.status).toBe(200);
      expect(r.body.total).toBe(6);
      expect(r.body.items).toHaveLength(6);
      for (const item of r.body.items) {
        expect(item).toMatchObject({ id: expect.any(String), stage: expect.any(String), status: 'active', revision: expect.any(Number) });
      }
      expect(r.body.items.map((c: any) => c.id).sort()).toEqual([...ids, 'list-other'].sort());
    });

    it('filters by stage, workflow and status', async () => {
      const rect = await call('GET', '/api/campaigns?stage=rectification');
      expect(rect.body.total).toBe(2);
      expect(rect.body.items.map((c: any) => c.id).sort()).toEqual(ids.slice(0, 2));
      const learning = await call('GET', '/api/campaigns?stage=learning&workflow=three-searches');
      expect(learning.body.total).toBe(3);
      const other = await call('GET', '/api/campaigns?workflow=strive-for-excellence');
      expect(other.body.items.map((c: any) => c.id)).toEqual(['list-other']);
      expect((await call('GET', '/api/campaigns?status=active')).body.total).toBe(6);
      expect((await call('GET', '/api/campaigns?status=completed')).body).toMatchObject({ total: 0, items: [] });
      expect((await call('GET', '/api/campaigns?stage=no-such-stage')).body).toMatchObject({ total: 0, items: [] });
      expect((await call('GET', '/api/campaigns?overdue=false')).body.total).toBe(6);
    });

    it('pages with limit and offset, total counting every match', async () => {
      const all = (await call('GET', '/api/campaigns')).body.items.map((c: any) => c.id);
      const page1 = await call('GET', '/api/campaigns?limit=2&offset=0');
      const page2 = await call('GET', '/api/campaigns?limit=2&offset=2');
      const page4 = await call('GET', '/api/campaigns?limit=2&offset=6');
      expect(page1.body).toMatchObject({ total: 6, limit: 2, offset: 0 });
      expect(page1.body.items.map((c: any) => c.id)).toEqual(all.slice(0, 2));
      expect(page2.body.items.map((c: any) => c.id)).toEqual(all.slice(2, 4));
      expect(page4.body).toMatchObject({ total: 6, items: [] });
      const filtered = await call('GET', '/api/campaigns?stage=learning&limit=1&offset=1');
      expect(filtered.body.total).toBe(3);
      expect(filtered.body.items).toHaveLength(1);
    });

    it('lets auditors list but shows units only theirs', async () => {
      expect((await call('GET', '/api/campaigns', { token: docket.auditor })).body.total).toBe(6);
      expect((await call('GET', '/api/campaigns?stage=rectification', { token: docket.unitToken('branch-1') })).body.total).toBe(2);
    });
  });

  describe('fuzz: a few hundred ill-typed bodies against every POST endpoint', () => {
    /** mulberry32: a small seeded PRNG, so a failure can be replayed. */
    function prng(seed: number) {
      let a = seed >>> 0;
      return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }
    // FUZZ_SEED / FUZZ_ROUNDS replay or widen a run; the defaults keep the suite fast and deterministic.
    const SEED = Number(process.env.FUZZ_SEED ?? 20130822);
    const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 80);
    const rand = prng(SEED);
    const statuses = new Map<number, number>();
    const int = (n: number) => Math.floor(rand() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
    const STRINGS = [
      '',
      ' ',
      'ADVANCE',
      'COMPLETE',
      'approved',
      'returned',
      'branch-1',
      'branch-2',
      'problem-list',
      'rectification-plan',
      'three-searches',
      'learning',
      '__proto__',
      'constructor',
      'toString',
      '第十七党支部整改方案',
      '🎉🎉',
      '\u0000',
      '\ud800',
      '\u202e',
      'a\nb',
      '<script>alert(1)</script>',
      "'; DROP TABLE events; --",
      '../../etc/passwd',
      '2013-12-31T16:00:00Z',
      'https://example.org/plan.pdf',
      'javascript:alert(1)',
      '%s%s%n',
      '1e309',
      'null',
    ];
    const KEYS = ['unit', 'deliverable', 'title', 'content', 'url', 'decision', 'comment', 'event', 'reason', 'id', 'workflow', 'units', 'deadlines', 'name', 'workflowVersion', 'constructor', 'prototype', 'x'];
    const scalar = (): unknown => {
      switch (int(12)) {
        case 0:
          return null;
        case 1:
          return rand() < 0.5;
        case 2:
          return int(2 ** 31) * (rand() < 0.5 ? -1 : 1);
        case 3:
          return pick([0, -0, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 53]);
        case 4:
          return 'x'.repeat(pick([1, 300, 301, 2048, 5001, 70_000]));
        case 5:
          return String.fromCodePoint(...Array.from({ length: 1 + int(20) }, () => int(0x10ffff + 1)).filter((c) => c < 0xd800 || c > 0xdfff));
        default:
          return pick(STRINGS);
      }
    };
    const value = (depth: number): unknown => {
      if (depth > 3 || rand() < 0.5) return scalar();
      if (rand() < 0.5) return Array.from({ length: int(5) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) o[rand() < 0.7 ? pick(KEYS) : String(scalar()).slice(0, 40)] = value(depth + 1);
      return o;
    };
    /** A valid body with a field or two broken, dropped or added, so some requests get deep into the domain. */
    const mutate = (valid: Record<string, unknown>): Record<string, unknown> => {
      const o: Record<string, unknown> = { ...valid };
      const keys = Object.keys(o);
      for (let i = 1 + int(2); i > 0; i--) {
        const r = rand();
        if (r < 0.5) o[pick(keys)] = value(1);
        else if (r < 0.7) delete o[pick(keys)];
        else if (r < 0.85) o[pick(keys)] = pick(STRINGS);
        else o[pick(KEYS)] = value(2);
      }
      return o;
    };
    const body = (valid: Record<string, unknown>): unknown => {
      const r = rand();
      if (r < 0.45) return mutate(valid);
      if (r < 0.55) return valid;
      return value(0);
    };

    const ID = 'fuzz-target';
    let count = 0;
    const campaignCount = async () => (await call('GET', '/api/campaigns?limit=1')).body.total as number;

    beforeAll(async () => {
      await launch(ID);
    });

    /** Sends one request and checks: < 500, problem+json when >= 400, and the campaign changed only on a 2xx. */
    const probe = async (url: string, payload: unknown, token: string, headers: Record<string, string> = {}) => {
      count++;
      const rev = await revision(ID);
      const campaigns = await campaignCount();
      const raw = typeof payload === 'string' && rand() < 0.5 ? payload : JSON.stringify(payload === undefined ? null : payload);
      const r = await call('POST', url, { token, body: raw, headers: { 'content-type': 'application/json', ...headers } });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const where = `seed ${SEED}: POST ${url} ${raw.slice(0, 300)} → ${r.status} ${r.raw.slice(0, 300)}`;
      if (r.status >= 500) throw new Error(`5xx: ${where}`);
      if (r.status >= 400) {
        try {
          expectProblem(r, r.status);
        } catch (e) {
          throw new Error(`not problem+json: ${where}\n${(e as Error).message}`);
        }
      }
      const after = await revision(ID);
      const launched = (await campaignCount()) - campaigns;
      if (url === '/api/campaigns') {
        if (after !== rev) throw new Error(`a launch changed another campaign: ${where}`);
        if (launched !== (r.status < 300 ? 1 : 0)) throw new Error(`campaign count changed by ${launched}: ${where}`);
      } else {
        if (launched !== 0) throw new Error(`campaign count changed: ${where}`);
        // a 2xx moves the revision, unless it is an Idempotency-Key repeat answered from the log
        const replayed = headers['idempotency-key'] !== undefined && after === rev && r.body.revision <= rev;
        if (r.status < 300 && after <= rev && !replayed) throw new Error(`2xx but revision did not move (${rev}→${after}): ${where}`);
        if (r.status >= 300 && after !== rev) throw new Error(`refused but revision moved (${rev}→${after}): ${where}`);
      }
      return r;
    };


    it('never answers a launch body with a 5xx, and launches only on 201', async () => {
      for (let i = 0; i < ROUNDS; i++) {
        await probe('/api/campaigns', body({ id: `fuzz-${i}`, workflow: 'three-searches', title: 't', units: [{ id: 'branch-1', name: 'n' }] }), docket.bureau);
      }
    });

    it('never answers a submission body with a 5xx, and appends only on 201', async () => {
      for (let i = 0; i < ROUNDS; i++) {
        const token = pick([docket.bureau, docket.unitToken('branch-1'), docket.unitToken('branch-2')]);
        await probe(`/api/campaigns/${ID}/submissions`, body({ unit: 'branch-1', deliverable: 'problem-list', title: 't', content: 'c' }), token);
      }
    });

    it('never answers a review body with a 5xx, and appends only on 201', async () => {
      for (let i = 0; i < ROUNDS; i++) {
        await probe(`/api/campaigns/${ID}/reviews`, body({ unit: 'branch-1', deliverable: 'problem-list', decision: 'approved', comment: 'ok' }), docket.bureau);
      }
    });

    it('never answers a transition body with a 5xx, and appends only on 200', async () => {
      for (let i = 0; i < ROUNDS; i++) {
        await probe(`/api/campaigns/${ID}/transitions`, body({ event: 'ADVANCE', reason: 'r' }), docket.bureau);
      }
    });

    it('never answers random If-Match and Idempotency-Key headers with a 5xx', async () => {
      const headerValues = ['"0"', 'W/"1"', '*', '', ' ', '"-1"', '"99999999999999999"', 'abc', 'k-1', 'k-1', 'k-2', 'x'.repeat(200)];
      for (let i = 0; i < ROUNDS / 2; i++) {
        const headers: Record<string, string> = {};
        if (rand() < 0.7) headers['if-match'] = pick(headerValues);
        if (rand() < 0.7) headers['idempotency-key'] = pick(headerValues);
        const url = pick([`/api/campaigns/${ID}/submissions`, `/api/campaigns/${ID}/transitions`, `/api/campaigns/${ID}/reviews`]);
        const valid = url.endsWith('submissions')
          ? { unit: 'branch-2', deliverable: 'problem-list', title: `t${int(3)}` }
          : url.endsWith('reviews')
            ? { unit: 'branch-2', deliverable: 'problem-list', decision: 'approved' }
            : { event: 'ADVANCE' };
        await probe(url, valid, docket.bureau, headers);
      }
    });

    it('leaves a log that still verifies after all of it', async () => {
      expect(count).toBeGreaterThanOrEqual(Math.min(300, ROUNDS * 4));
      if (process.env.FUZZ_VERBOSE) console.log(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)));
      // the fuzz reached the domain, not only the validator
      expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
      expect([...statuses.keys()].some((s) => s === 422 || s === 409)).toBe(true);
      const v = await call('GET', `/api/campaigns/${ID}/verify`, { token: docket.auditor });
      expect(v.status).toBe(200);
      expect(v.body.ok).toBe(true);
      const h = await call('GET', `/api/campaigns/${ID}/history?limit=10000`, { token: docket.auditor });
      expect(h.body.events).toHaveLength((await revision(ID)) + 1);
    });
  });
});
