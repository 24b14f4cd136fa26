import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { WORKFLOWS } from './webhook-support';

/** POST /api/webhooks refuses what it cannot deliver to, and only the bureau manages webhooks. */
describe('webhook registration', () => {
  let docket: Docket;
  const good = { url: 'http://127.0.0.1:9/hooks', secret: 'a-shared-secret-of-32-characters' };

  beforeAll(async () => {
    docket = await startDocket({ env: { DOCKET_WORKFLOWS_DIR: WORKFLOWS, DOCKET_WEBHOOK_INTERVAL_MS: '0' } });
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  const post = (body: unknown, token?: string) => docket.call('POST', '/api/webhooks', { body, ...(token ? { token } : {}) });

  it.each([
    ['a URL that is not one', { ...good, url: 'not a url' }, 'url'],
    ['an ftp URL', { ...good, url: 'ftp://bureau.example/hooks' }, 'url'],
    ['a URL with a password in it', { ...good, url: 'https://user:pw@bureau.example/hooks' }, 'url'],
    ['a URL longer than 2048 characters', { ...good, url: `https://bureau.example/${'a'.repeat(2040)}` }, 'url'],
    ['a secret shorter than 16 characters', { ...good, secret: 'short-secret' }, 'secret'],
    ['a secret longer than 256 characters', { ...good, secret: 's'.repeat(257) }, 'secret'],
    ['no secret', { url: good.url }, 'secret'],
    ['an unknown event type', { ...good, events: ['CampaignLaunched'] }, 'events'],
    ['an unknown field', { ...good, retries: 99 }, 'retries'],
  ])('refuses %s with 400 VALIDATION_FAILED naming the field', async (_name, body, field) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('VALIDATION_FAILED');
    expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('lets only the bureau register, list and remove webhooks', async () => {
    for (const token of [docket.unitToken('u1'), docket.auditor]) {
      expect((await post(good, token)).status).toBe(403);
      expect((await docket.call('GET', '/api/webhooks', { token })).status).toBe(403);
      expect((await docket.call('DELETE', '/api/webhooks/00000000-0000-4000-8000-000000000000', { token })).status).toBe(403);
      expect((await docket.call('GET', '/api/mail/deliveries', { token })).status).toBe(403);
    }
    expect((await post(good)).status).toBe(201);
    expect((await docket.call('GET', '/api/webhooks', { token: null })).status).toBe(401);
  });

  it('answers 201 with id, url and creation time, and refuses the same URL twice while it is registered', async () => {
    const body = { url: 'https://oa.bureau.example/docket', secret: 'x'.repeat(16), description: '区教育局 OA', events: ['ReminderEscalated'] };
    const r = await post(body);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), url: body.url, description: '区教育局 OA', events: ['ReminderEscalated'], createdAt: expect.any(String), createdBy: 'bureau-office' });
    const twice = await post({ ...body, secret: 'y'.repeat(16) });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('WEBHOOK_EXISTS');
    expect((await docket.call('DELETE', `/api/webhooks/${r.body.id}`)).status).toBe(204);
    expect((await post(body)).status).toBe(201);
  });

  it('answers 404 WEBHOOK_NOT_FOUND for a webhook that does not exist', async () => {
    for (const [method, url] of [
      ['DELETE', '/api/webhooks/00000000-0000-4000-8000-000000000000'],
      ['GET', '/api/webhooks/not-a-uuid'],
      ['GET', '/api/webhooks/00000000-0000-4000-8000-000000000000/deliveries'],
    ] as const) {
      const r = await docket.call(method, url);
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('WEBHOOK_NOT_FOUND');
    }
  });
});
