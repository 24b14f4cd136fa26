import { Inject, Injectable } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import { DOCKET_CONFIG } from '../config/config.module';
import type { DocketConfig } from '../config/config';
import { TOKEN_ALPHABET, TOKEN_LENGTH } from './domain/tokens';

/** A fresh ballot token: 160 bits from the system's CSPRNG, in Crockford base32 (see domain/tokens.ts). */
export function generateToken(): string {
  const bytes = randomBytes(20);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += TOKEN_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out.slice(0, TOKEN_LENGTH);
}

/**
 * The service's secret for ballot nullifiers. A ballot stores HMAC(key, evaluation ‖ token)
 * instead of anything a holder of the token sheet could compute, so the log alone (an audit
 * export, a backup) never links a ballot to a token. The key is derived from the service's
 * JWT secret (shared by every instance); its fingerprint is recorded when an evaluation
 * opens, so a changed secret refuses ballots instead of letting a spent token vote again.
 */
@Injectable()
export class BallotKeys {
  private readonly key: Buffer;
  readonly fingerprint: string;

  constructor(@Inject(DOCKET_CONFIG) config: Pick<DocketConfig, 'jwtSecret'>) {
    this.key = createHmac('sha256', config.jwtSecret).update('docket/ballot-nullifier/v1').digest();
    this.fingerprint = createHmac('sha256', this.key).update('docket/ballot-nullifier/fingerprint').digest('hex').slice(0, 16);
  }

  nullifier(evaluationId: string, canonicalToken: string): string {
    return createHmac('sha256', this.key).update(`${evaluationId}\n${canonicalToken}`).digest('hex');
  }
}
