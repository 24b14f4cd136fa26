import { createSigner } from 'fast-jwt';
import { InvalidTokenError, JwtCodec } from './jwt';

const secret = 'x'.repeat(40);

describe('JwtCodec', () => {
  const jwt = new JwtCodec(secret);

  it('round-trips the actor of a minted token', () => {
    expect(jwt.actor(jwt.mint({ sub: 'alice', role: 'bureau' }))).toEqual({ sub: 'alice', role: 'bureau' });
    expect(jwt.actor(jwt.mint({ sub: 'bob', role: 'unit', unit: 'branch-1' }))).toEqual({ sub: 'bob', role: 'unit', unit: 'branch-1' });
  });

  it('refuses a token signed with another secret, an expired one, an unknown role and a unit token without unit', () => {
    expect(() => new JwtCodec('y'.repeat(40)).actor(jwt.mint({ sub: 'a', role: 'bureau' }))).toThrow(InvalidTokenError);
    expect(() => jwt.actor(jwt.mint({ sub: 'a', role: 'bureau' }, { expiresInSeconds: -10 }))).toThrow(InvalidTokenError);
    const sign = createSigner({ key: secret });
    expect(() => jwt.actor(sign({ sub: 'a', role: 'admin' }))).toThrow(/role/);
    expect(() => jwt.actor(sign({ sub: 'a', role: 'unit' }))).toThrow(/unit claim/);
    expect(() => jwt.actor(sign({ role: 'bureau' }))).toThrow(/sub/);
  });

  it('refuses a token with our signature that never expires (no exp claim)', () => {
    const sign = createSigner({ key: secret });
    expect(() => jwt.actor(sign({ sub: 'a', role: 'bureau' }))).toThrow(/exp claim/);
  });

  it('refuses an unsigned token (alg none)', () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'a', role: 'bureau' })).toString('base64url');
    expect(() => jwt.actor(`${header}.${body}.`)).toThrow(InvalidTokenError);
  });

  describe('keeping the tokens it verified', () => {
    afterEach(() => jest.useRealTimers());

    it('answers the same token again without checking it anew, until the token expires', () => {
      jest.useFakeTimers({ now: new Date('2026-11-22T08:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
      const codec = new JwtCodec(secret);
      const token = codec.mint({ sub: 'alice', role: 'bureau' }, { expiresInSeconds: 60 });
      const first = codec.actor(token);
      expect(codec.actor(token)).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      jest.setSystemTime(new Date('2026-11-22T08:00:59Z'));
      expect(codec.actor(token)).toBe(first);
      jest.setSystemTime(new Date('2026-11-22T08:01:00Z'));
      expect(() => codec.actor(token)).toThrow(InvalidTokenError);
    });

    it('keeps no failure: a token refused once is refused again, and one byte changed is checked anew', () => {
      const codec = new JwtCodec(secret);
      const token = codec.mint({ sub: 'alice', role: 'bureau' });
      expect(codec.actor(token)).toEqual({ sub: 'alice', role: 'bureau' });
      const forged = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
      expect(() => codec.actor(forged)).toThrow(InvalidTokenError);
      expect(() => codec.actor(forged)).toThrow(InvalidTokenError);
      expect(() => new JwtCodec('y'.repeat(40)).actor(token)).toThrow(InvalidTokenError);
    });

    it('keeps at most a thousand tokens, dropping the oldest first', () => {
      const codec = new JwtCodec(secret);
      const tokens = Array.from({ length: 1001 }, (_, i) => codec.mint({ sub: `user-${i}`, role: 'unit', unit: `unit-${i}` }));
      for (const t of tokens) codec.actor(t);
      const kept = (codec as unknown as { verified: Map<string, unknown> }).verified;
      expect(kept.size).toBe(1000);
      expect(kept.has(tokens[0])).toBe(false);
      expect(kept.has(tokens[1000])).toBe(true);
      expect(codec.actor(tokens[0])).toEqual({ sub: 'user-0', role: 'unit', unit: 'unit-0' });
    });
  });
});
