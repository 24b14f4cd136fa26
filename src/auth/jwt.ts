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

/** Verified tokens kept, by their exact text, so that a client's next request skips the signature (the oldest go first). */
const VERIFIED_CACHE_SIZE = 1000;

/** HS256 tokens: signing for the CLI and tests, verification for every request. */
export class JwtCodec {
  private readonly sign: (payload: object) => string;
  private readonly verify: (token: string) => any;
  /**
   * Tokens that verified, with the actor they speak for and when they expire. A hit is the same
   * token, byte for byte, as one whose signature and claims passed; it is answered until its
   * `exp` (as the verifier would) and dropped then. Failures are not kept. fast-jwt's own cache
   * would do the same, keyed by a SHA-256 of the token: computing that key cost more than the
   * lookup saved (about 4 % of a command's time on the event loop).
   */
  private readonly verified = new Map<string, { actor: Actor; expiresAtMs: number }>();

  constructor(secret: string, issuer = 'docket') {
    this.sign = createSigner({ key: secret, algorithm: 'HS256', iss: issuer });
    this.verify = createVerifier({ key: secret, algorithms: ['HS256'] });
  }

  /** A token valid for `expiresInSeconds` (default 12 hours). */
  mint(claims: TokenClaims, options: { expiresInSeconds?: number } = {}): string {
    const now = Math.floor(Date.now() / 1000);
    return this.sign({ ...claims, iat: now, exp: now + (options.expiresInSeconds ?? 12 * 3600) });
  }

  /** The actor a token speaks for; InvalidTokenError when it is not ours, expired, or its claims are off. */
  actor(token: string): Actor {
    const hit = this.verified.get(token);
    if (hit) {
      if (Date.now() < hit.expiresAtMs) return hit.actor;
      this.verified.delete(token);
    }
    return this.verifiedActor(token);
  }

  /** Checks the token's signature and claims, and keeps the actor of one that passes. */
  private verifiedActor(token: string): Actor {
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
    // A token that never expires would be good for ever once leaked; every token Docket mints has `exp`.
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) throw new InvalidTokenError('token has no exp claim (tokens must expire)');
    const expiresAtMs = payload.exp * 1000;
    // RFC 7519: accepted only before `exp` (the verifier still takes the second of `exp` itself).
    if (Date.now() >= expiresAtMs) throw new InvalidTokenError('token has expired');
    const actor: Actor = Object.freeze(payload.role === 'unit' ? { sub: payload.sub, role: 'unit', unit: payload.unit } : { sub: payload.sub, role: payload.role });
    this.remember(token, actor, expiresAtMs);
    return actor;
  }

  private remember(token: string, actor: Actor, expiresAtMs: number): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { actor, expiresAtMs });
  }
}
