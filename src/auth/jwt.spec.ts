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

  it('refuses an unsigned token (alg none)', () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: 'a', role: 'bureau' })).toString('base64url');
    expect(() => jwt.actor(`${header}.${body}.`)).toThrow(InvalidTokenError);
  });
});
