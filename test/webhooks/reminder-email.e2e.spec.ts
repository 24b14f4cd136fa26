import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock';
import { deliveryId } from '../../src/webhooks/domain/webhooks';
import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { at, dispatch, MailServer, reminderEvents, scanAndSettle, startMailServer, WORKFLOWS } from './webhook-support';

/**
 * Reminder e-mails through a real SMTP server (smtp-server on 127.0.0.1, AUTH over plain
 * text): each late unit at its addresses, escalations to the leading group, Chinese and
 * English with the deadline in the bureau's timezone, retried on a temporary refusal.
 */
describe('reminder e-mails over SMTP', () => {
  const clock = new ManualClock(at(-12));
  let smtp: MailServer;
  let docket: Docket;

  beforeAll(async () => {
    smtp = await startMailServer('docket', 'mail-pass-1');
    const dataDir = mkdtempSync(join(tmpdir(), 'docket-mail-'));
    const emails = join(dataDir, 'unit-emails.yaml');
    writeFileSync(emails, 'u1: u1-office@school.example\nu2:\n  - head@u2.example\n  - office@u2.example\n');
    docket = await startDocket({
      clock,
      dataDir,
      env: {
        DOCKET_WORKFLOWS_DIR: WORKFLOWS,
        DOCKET_WEBHOOK_INTERVAL_MS: '0',
        DOCKET_SMTP_URL: `smtp://docket:mail-pass-1@127.0.0.1:${smtp.port}`,
        DOCKET_MAIL_FROM: 'Docket 催办 <docket@bureau.example>',
        DOCKET_UNIT_EMAILS: emails,
        DOCKET_LEADING_GROUP_EMAIL: 'leading-group@bureau.example, office@bureau.example',
      },
    });
    const units = ['u1', 'u2', 'u3'].map((id) => ({ id, name: id }));
    expect((await docket.call('POST', '/api/campaigns', { body: { id: 'mail', workflow: 'reminder-drill', title: '整改方案收集', units, deadlines: { collect: at(0) } } })).status).toBe(201);
  });
  afterAll(async () => {
    await docket.close();
    await smtp.close();
    removeDir(docket.dataDir);
  });

  it('e-mails each late unit its reminder in Chinese and English, retrying a temporary refusal', async () => {
    clock.set(at(-3));
    await scanAndSettle(docket, 'mail');
    smtp.failNext = 1;
    const first = await dispatch(docket);
    expect(first).toMatchObject({ attempted: 2, delivered: 1, retrying: 1, skipped: 1 });
    clock.advance(1000);
    expect(await dispatch(docket)).toMatchObject({ attempted: 1, delivered: 1 });

    const events = await reminderEvents(docket, 'mail');
    const eventOf = (unit: string) => events.find((e) => e.data.unit === unit)!;
    expect(smtp.mails.map((m) => m.to.join(',')).sort()).toEqual(['head@u2.example,office@u2.example', 'u1-office@school.example']);
    const u1 = smtp.mails.find((m) => m.to.includes('u1-office@school.example'))!;
    expect(u1).toMatchObject({ user: 'docket', from: 'docket@bureau.example' });
    expect(u1.subject).toBe('【催办】整改方案收集：收集材料 / Reminder: Collect');
    expect(u1.text).toContain('请于 2013-10-10 08:00 前提交整改方案。');
    expect(u1.text).toContain('Please submit Rectification plan by 2013-10-10 08:00.');
    expect(u1.text).toContain('2013-10-10 08:00 (Asia/Shanghai)');
    const id = deliveryId('email', 'unit:u1', eventOf('u1').id);
    expect(u1.headers['x-docket-delivery']).toBe(id);
    expect(u1.headers['message-id']).toBe(`<${id}@docket>`);

    // u3 has no address: nothing is sent, and the bureau can see why.
    const list = await docket.call('GET', '/api/mail/deliveries?limit=500');
    expect(list.status).toBe(200);
    const u3 = list.body.items.find((i: any) => i.event.unit === 'u3');
    expect(u3).toMatchObject({ channel: 'email', target: 'unit:u3', status: 'skipped', attempts: 0 });
    expect(u3.lastError).toContain('DOCKET_UNIT_EMAILS');
    expect(list.body.items.filter((i: any) => i.status === 'delivered').map((i: any) => i.attempts).sort()).toEqual([1, 2]);
  });

  it('e-mails an escalation to the leading group', async () => {
    clock.set(at(7));
    await scanAndSettle(docket, 'mail');
    const before = smtp.mails.length;
    await dispatch(docket);
    const fresh = smtp.mails.slice(before);
    const escalations = fresh.filter((m) => m.to.includes('leading-group@bureau.example'));
    expect(escalations).toHaveLength(3);
    for (const m of escalations) {
      expect(m.to).toEqual(['leading-group@bureau.example', 'office@bureau.example']);
      expect(m.subject).toMatch(/^【逾期上报】整改方案收集：u[123] \/ Escalation: u[123] is late$/);
      expect(m.text).toContain('已报领导小组');
      expect(m.headers['x-docket-event']).toBe('ReminderEscalated');
    }
    expect(await dispatch(docket)).toMatchObject({ attempted: 0 });
  });
});
