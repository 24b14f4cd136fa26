import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir } from '../support/docket-harness';
import { cliToken, httpClient, ServiceProcess, startService } from '../support/service-process';

/**
 * As a new user would: a campaign whose first stage is due two seconds ahead, the
 * scheduler scanning every 500 ms, the real clock. Within five seconds the inbox lists a
 * reminder for every unit that had not submitted and none for those that had; after a
 * restart none is repeated.
 */
describe('reminders in the running service', () => {
  let svc: ServiceProcess;
  let dataDir: string;
  let bureau: string;
  const env = () => ({ DOCKET_DATA_DIR: dataDir, DOCKET_REMINDER_INTERVAL_MS: '500' });
  const api = httpClient(() => svc.url);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'docket-remind-'));
    svc = await startService(env());
    bureau = cliToken({ DOCKET_DATA_DIR: dataDir }, '--role', 'bureau', '--sub', 'office');
  });
  afterAll(async () => {
    await svc?.stop();
    removeDir(dataDir);
  });

  it('reminds every unit that has not submitted within five seconds, and never twice across a restart', async () => {
    const units = Array.from({ length: 6 }, (_, i) => ({ id: `school-${i + 1}`, name: `学校${i + 1}` }));
    const due = new Date(Date.now() + 2000).toISOString();
    expect((await api('POST', '/api/campaigns', bureau, { id: 'due-soon', workflow: 'three-searches', title: '两秒后到期', units, deadlines: { learning: due } })).status).toBe(201);
    const submitted = ['school-1', 'school-2'];
    const ackedAt = new Map<string, number>();
    for (const u of submitted) {
      expect((await api('POST', '/api/campaigns/due-soon/submissions', bureau, { unit: u, deliverable: 'problem-list', title: 'x' })).status).toBe(201);
      ackedAt.set(u, Date.now());
    }
    const started = Date.now();
    let items: any[] = [];
    const late = units.map((u) => u.id).filter((u) => !submitted.includes(u));
    while (Date.now() - started < 5000) {
      items = (await api('GET', '/api/reminders?campaign=due-soon&limit=1000', bureau)).json.items;
      const dueLevel = new Set(items.filter((i) => i.level === 'due').map((i) => i.unit));
      if (late.every((u) => dueLevel.has(u))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Date.now() - started).toBeLessThan(5000);
    // At the deadline: a reminder for each unit that had not submitted, none for those that had.
    expect(items.filter((i) => i.level === 'due').map((i) => i.unit).sort()).toEqual(late);
    // A unit that submitted was at most reminded before it did (the "3 days before" reminder of the policy).
    for (const u of submitted) {
      for (const r of items.filter((i) => i.unit === u)) {
        expect(r.level).toBe('before');
        expect(Date.parse(r.issuedAt)).toBeLessThanOrEqual(ackedAt.get(u)!);
      }
    }

    const before = items.map((i) => i.id).sort();
    await svc.stop();
    svc = await startService(env());
    await new Promise((r) => setTimeout(r, 1500)); // three scans
    const after = (await api('GET', '/api/reminders?campaign=due-soon&limit=1000', bureau)).json.items.map((i: any) => i.id).sort();
    expect(after).toEqual(before);
  });
});
