import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config';

const base = { DOCKET_JWT_SECRET: 'j'.repeat(40) };

describe('delivery configuration', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'docket-delivery-cfg-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, DOCKET_DATA_DIR: dir, ...env }, dir);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.join('\n');
      throw e;
    }
    return '';
  };

  it('defaults to polling every second, 12 attempts from 1 s backoff up to an hour, 10 s timeout, 90 days of delivery records, no e-mail', () => {
    expect(loadConfig({ ...base, DOCKET_DATA_DIR: dir }, dir).delivery).toEqual({
      intervalMs: 1000,
      backoffMs: 1000,
      backoffMaxMs: 3_600_000,
      maxAttempts: 12,
      timeoutMs: 10_000,
      retentionDays: 90,
      secretKey: undefined,
      smtpUrl: undefined,
      mailFrom: undefined,
      unitEmails: {},
      leadingGroupEmails: [],
    });
  });

  it('reads unit addresses from a YAML or JSON map, and the leading group from a list', () => {
    writeFileSync(join(dir, 'emails.yaml'), 'branch-1: a@school.example\nbranch-2: [b@school.example, c@school.example]\n');
    writeFileSync(join(dir, 'emails.json'), '{"branch-1": "a@school.example"}');
    const env = { DOCKET_SMTP_URL: 'smtp://u:p@mail.example:587', DOCKET_MAIL_FROM: '教育局 <docket@bureau.example>', DOCKET_LEADING_GROUP_EMAIL: 'lg@bureau.example, office@bureau.example' };
    const c = loadConfig({ ...base, DOCKET_DATA_DIR: dir, ...env, DOCKET_UNIT_EMAILS: 'emails.yaml' }, dir).delivery;
    expect(c.unitEmails).toEqual({ 'branch-1': ['a@school.example'], 'branch-2': ['b@school.example', 'c@school.example'] });
    expect(c.leadingGroupEmails).toEqual(['lg@bureau.example', 'office@bureau.example']);
    expect(loadConfig({ ...base, DOCKET_DATA_DIR: dir, ...env, DOCKET_UNIT_EMAILS: 'emails.json' }, dir).delivery.unitEmails).toEqual({ 'branch-1': ['a@school.example'] });
  });

  it('reports each problem by variable name', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'branch-1: not-an-address\n');
    const all = problems({
      DOCKET_SMTP_URL: 'http://mail.example',
      DOCKET_UNIT_EMAILS: 'bad.yaml',
      DOCKET_LEADING_GROUP_EMAIL: 'nobody',
      DOCKET_WEBHOOK_KEY: 'short',
      DOCKET_WEBHOOK_MAX_ATTEMPTS: '0',
      DOCKET_WEBHOOK_INTERVAL_MS: '-1',
      DOCKET_OUTBOX_RETENTION_DAYS: 'forever',
    });
    for (const name of ['DOCKET_SMTP_URL must', 'DOCKET_MAIL_FROM', 'DOCKET_UNIT_EMAILS', 'DOCKET_LEADING_GROUP_EMAIL', 'DOCKET_WEBHOOK_KEY', 'DOCKET_WEBHOOK_MAX_ATTEMPTS', 'DOCKET_WEBHOOK_INTERVAL_MS', 'DOCKET_OUTBOX_RETENTION_DAYS']) {
      expect(all).toContain(name);
    }
    expect(problems({ DOCKET_UNIT_EMAILS: 'missing.yaml' })).toMatch(/DOCKET_UNIT_EMAILS: cannot read/);
  });

  it('keeps every delivery record with DOCKET_OUTBOX_RETENTION_DAYS=0', () => {
    expect(loadConfig({ ...base, DOCKET_DATA_DIR: dir, DOCKET_OUTBOX_RETENTION_DAYS: '0' }, dir).delivery.retentionDays).toBe(0);
    expect(loadConfig({ ...base, DOCKET_DATA_DIR: dir, DOCKET_OUTBOX_RETENTION_DAYS: '365' }, dir).delivery.retentionDays).toBe(365);
    expect(problems({ DOCKET_OUTBOX_RETENTION_DAYS: '-1' })).toMatch(/DOCKET_OUTBOX_RETENTION_DAYS/);
  });
});
