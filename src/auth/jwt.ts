import { createSigner, createVerifier } from 'fast-jwt';
import type { Actor } from '../common/domain/domain-error';

export const ROLES = ['bureau', 'unit', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenClaims {
  sub: string;
  role: Role;
  unit?: string;
}

export class InvalidTokenError extends Error {
  readonly code = 'INVALID_TOKEN';
}

/** HS256 tokens: signing for the CLI and tests, verification for every request. */
export class JwtCodec {
  private readonly sign: (payload: object) => string;
  private readonly verify: (token: string) => any;

  constructor(secret: string, issuer = 'docket') {
    this.sign = createSigner({ key: secret, algorithm: 'HS256', iss: issuer });
    this.verify = createVerifier({ key: secret, algorithms: ['HS256'], cache: 1000 });
  }

  /** A token valid for `expiresInSeconds` (default 12 hours). */
  mint(claims: TokenClaims, options: { expiresInSeconds?: number } = {}): string {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({ ...claims, iat: now, exp: now + (options.expiresInSeconds ?? 12 * 3600) });
  }

  /** The actor a token speaks for; InvalidTokenError when it is not ours, expired, or its claims are off. */
  actor(token: string): Actor {
    let payload: any;
    try {
      payload = this.verify(token);
    } catch (e) {
      throw new InvalidTokenError((e as Error).message);
    }
    if (typeof payload.sub !== 'string' || !payload.sub) throw new InvalidTokenError('token has no sub claim');
    if (!ROLES.includes(payload.role)) throw new InvalidTokenError(`token role must be one of ${ROLES.join(', ')}`);
    if (payload.role === 'unit' && (typeof payload.unit !== 'string' || !payload.unit)) {
      throw new InvalidTokenError('a unit token needs a unit claim');
    }
    return payload.role === 'unit' ? { sub: payload.sub, role: 'unit', unit: payload.unit } : { sub: payload.sub, role: payload.role };
  }
}
