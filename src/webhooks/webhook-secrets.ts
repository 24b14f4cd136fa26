import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SealedSecret } from './domain/webhooks';

/**
 * Webhook secrets must be usable to sign, so they are stored, but the log is append-only,
 * kept for years and read by auditors: a secret in clear there could never be erased. The
 * WebhookRegistered event therefore carries it sealed with AES-256-GCM under a key derived
 * (HKDF-SHA256) from DOCKET_WEBHOOK_KEY, or from the JWT secret when that is unset; the
 * webhook id is the associated data, so a sealed secret cannot be moved to another webhook.
 */
export class WebhookSecrets {
  private readonly key: Buffer;

  constructor(keyMaterial: string) {
    this.key = Buffer.from(hkdfSync('sha256', keyMaterial, 'docket', 'webhook-secret-v1', 32));
  }

  seal(webhookId: string, secret: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(webhookId));
    const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return { v: 1, alg: 'A256GCM', iv: iv.toString('base64url'), tag: cipher.getAuthTag().toString('base64url'), data: data.toString('base64url') };
  }

  /** The secret, or an Error when the key changed (DOCKET_WEBHOOK_KEY or the JWT secret rotated). */
  open(webhookId: string, sealed: SealedSecret): string {
    if (sealed?.v !== 1 || sealed.alg !== 'A256GCM') throw new Error('unknown sealed-secret format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.iv, 'base64url'));
    decipher.setAAD(Buffer.from(webhookId));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('the webhook secret cannot be unsealed: DOCKET_WEBHOOK_KEY (or the JWT secret it defaults to) changed since it was registered; register the webhook again');
    }
  }
}
