import { createHmac } from 'node:crypto';
import { DomainError } from '../../common/domain/domain-error';
import { backoffDelay, decideRegister, decideRemove, deliveryId, evolveWebhooks, initialWebhooksState, MAX_ACTIVE_WEBHOOKS, SealedSecret, signature, verifySignature, WebhooksState } from './webhooks';

const sealed: SealedSecret = { v: 1, alg: 'A256GCM', iv: 'iv', tag: 'tag', data: 'data' };
const given = (...events: { type: string; data: unknown }[]): WebhooksState =>
  events.reduce((s, e) => evolveWebhooks(s, { ...e, metadata: { occurredAt: '2013-09-01T00:00:00.000Z', actor: { sub: 'office' } } }), initialWebhooksState());
const registered = (id: string, url = `https://r.example/${id}`) => ({ type: 'WebhookRegistered', data: { id, url, events: null, secret: sealed } });

describe('webhook registrations', () => {
  it('registers a receiver', () => {
    expect(decideRegister(given(), { id: 'a', url: 'https://r.example/a', events: null, secret: sealed })).toEqual([
      { type: 'WebhookRegistered', data: { id: 'a', url: 'https://r.example/a', events: null, secret: sealed } },
    ]);
  });

  it('refuses a second registration of a URL that is registered, but not of one that was removed', () => {
    const state = given(registered('a'));
    expect(() => decideRegister(state, { id: 'b', url: 'https://r.example/a', events: null, secret: sealed })).toThrow(expect.objectContaining({ code: 'WEBHOOK_EXISTS' }));
    const removed = given(registered('a'), { type: 'WebhookRemoved', data: { id: 'a' } });
    expect(decideRegister(removed, { id: 'b', url: 'https://r.example/a', events: null, secret: sealed })).toHaveLength(1);
  });

  it(`refuses more than ${MAX_ACTIVE_WEBHOOKS} active webhooks`, () => {
    const state = given(...Array.from({ length: MAX_ACTIVE_WEBHOOKS }, (_, i) => registered(`w${i}`)));
    expect(() => decideRegister(state, { id: 'x', url: 'https://r.example/x', events: null, secret: sealed })).toThrow(expect.objectContaining({ code: 'WEBHOOK_LIMIT_REACHED' }));
  });

  it('removes an active webhook once; an unknown or removed one is WEBHOOK_NOT_FOUND', () => {
    const state = given(registered('a'));
    expect(decideRemove(state, 'a')).toEqual([{ type: 'WebhookRemoved', data: { id: 'a' } }]);
    expect(() => decideRemove(state, 'b')).toThrow(DomainError);
    expect(() => decideRemove(given(registered('a'), { type: 'WebhookRemoved', data: { id: 'a' } }), 'a')).toThrow(expect.objectContaining({ code: 'WEBHOOK_NOT_FOUND' }));
  });

  it('is unchanged when an event is applied twice', () => {
    const once = given(registered('a'), { type: 'WebhookRemoved', data: { id: 'a' } });
    const twice = given(registered('a'), registered('a'), { type: 'WebhookRemoved', data: { id: 'a' } }, { type: 'WebhookRemoved', data: { id: 'a' } });
    expect([...twice.byId.entries()]).toEqual([...once.byId.entries()]);
  });
});

describe('delivery ids', () => {
  it('are the same UUID every time for one channel, target and event, and differ otherwise', () => {
    const id = deliveryId('webhook', 'w1', 'e1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deliveryId('webhook', 'w1', 'e1')).toBe(id);
    expect(new Set([id, deliveryId('webhook', 'w2', 'e1'), deliveryId('webhook', 'w1', 'e2'), deliveryId('email', 'w1', 'e1')]).size).toBe(4);
  });
});

describe('backoff', () => {
  it('doubles per failed attempt from the base, within the upper half of each step, up to the cap', () => {
    for (let attempts = 1; attempts <= 20; attempts++) {
      const ceiling = Math.min(3_600_000, 1000 * 2 ** (attempts - 1));
      for (const seed of ['a', 'b', 'c', 'd']) {
        const d = backoffDelay(attempts, 1000, 3_600_000, seed);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('spreads deliveries that failed together, and is the same when computed again', () => {
    const delays = Array.from({ length: 20 }, (_, i) => backoffDelay(5, 1000, 3_600_000, `delivery-${i}`));
    expect(new Set(delays).size).toBeGreaterThan(10);
    expect(backoffDelay(5, 1000, 3_600_000, 'delivery-3')).toBe(delays[3]);
  });
});

describe('signatures', () => {
  it('are HMAC-SHA256 over "<timestamp>.<body>" with the secret, as sha256=<hex>', () => {
    const body = '{"deliveryId":"x","event":{"message":{"zh":"请于 2013-10-10 08:00 前提交整改方案。"}}}';
    const expected = 'sha256=' + createHmac('sha256', 'secret-0123456789').update(`1381363200.${body}`).digest('hex');
    expect(signature('secret-0123456789', '1381363200', body)).toBe(expected);
    expect(verifySignature('secret-0123456789', '1381363200', body, expected)).toBe(true);
    expect(verifySignature('secret-0123456789', '1381363201', body, expected)).toBe(false);
    expect(verifySignature('secret-0123456789', '1381363200', body + ' ', expected)).toBe(false);
    expect(verifySignature('other-secret-0123', '1381363200', body, expected)).toBe(false);
    expect(verifySignature('secret-0123456789', '1381363200', body, 'sha256=00')).toBe(false);
  });
});
