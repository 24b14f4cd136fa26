import { WebhookSecrets } from './webhook-secrets';

describe('sealed webhook secrets', () => {
  const box = new WebhookSecrets('k'.repeat(40));

  it('open to the secret they sealed, and never contain it in clear', () => {
    const sealed = box.seal('w1', 'whsec_0123456789abcdef');
    expect(JSON.stringify(sealed)).not.toContain('whsec_0123456789abcdef');
    expect(box.open('w1', sealed)).toBe('whsec_0123456789abcdef');
    expect(box.seal('w1', 'whsec_0123456789abcdef')).not.toEqual(sealed);
  });

  it('do not open under another key or for another webhook', () => {
    const sealed = box.seal('w1', 'whsec_0123456789abcdef');
    expect(() => new WebhookSecrets('j'.repeat(40)).open('w1', sealed)).toThrow(/DOCKET_WEBHOOK_KEY/);
    expect(() => box.open('w2', sealed)).toThrow(/cannot be unsealed/);
  });
});
