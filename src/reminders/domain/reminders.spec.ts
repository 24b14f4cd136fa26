import { decideReminders, lateUnitsOf, latestReminderPoint, nextReminderAt, reminderId } from './reminders';

describe('late units', () => {
  const stageDeliverables = [{ id: 'plan' }, { id: 'report' }];
  const cells: Record<string, string> = {
    'u1 plan': 'approved',
    'u1 report': 'submitted',
    'u2 plan': 'returned',
    'u2 report': 'submitted',
    'u3 report': 'approved',
  };
  const status = (unit: string, deliverable: string) => cells[`${unit} ${deliverable}`] ?? 'missing';

  it('names each unit that owes a missing or returned deliverable, in unit order, with what it owes in the stage order', () => {
    expect(lateUnitsOf(['u3', 'u1', 'u2', 'u4'], stageDeliverables, status)).toEqual([
      { unit: 'u3', deliverables: [{ id: 'plan', status: 'missing' }] },
      { unit: 'u2', deliverables: [{ id: 'plan', status: 'returned' }] },
      {
        unit: 'u4',
        deliverables: [
          { id: 'plan', status: 'missing' },
          { id: 'report', status: 'missing' },
        ],
      },
    ]);
  });

  it('finds nobody late in a stage without deliverables', () => {
    expect(lateUnitsOf(['u1', 'u2'], [], status)).toEqual([]);
  });
});

describe('deciding reminders', () => {
  const base = {
    campaignId: 'c1',
    stage: 'collect',
    stageEnteredAt: '2013-09-30T00:00:00.000Z',
    deadline: '2013-10-10T00:00:00.000Z',
    policy: { before: 'P3D', at: true, every: 'P2D', escalateAfter: 'P7D' },
    lateUnits: [{ unit: 'u2', deliverables: [{ id: 'plan', status: 'missing' as const }] }],
    lateAfterMs: 5 * 60_000,
    issued: new Set<string>(),
  };

  it('gives a reminder the same id whoever decides it, and skips the ones already issued', () => {
    const now = new Date('2013-10-10T00:01:00.000Z');
    const [due] = decideReminders({ ...base, now });
    expect(due).toMatchObject({ type: 'ReminderIssued', data: { unit: 'u2', level: 'due', occurrence: 1, late: false } });
    expect(due.id).toBe(reminderId({ campaignId: 'c1', stage: 'collect', stageEnteredAt: base.stageEnteredAt, deadline: base.deadline, unit: 'u2', level: 'due', occurrence: 1 }));
    expect(decideReminders({ ...base, now })).toEqual([due]);
    expect(decideReminders({ ...base, now, issued: new Set([due.id]) })).toEqual([]);
  });

  it('after downtime issues only the latest reminder that fell due, marked late, and the escalation', () => {
    const events = decideReminders({ ...base, now: new Date('2013-10-17T00:00:00.000Z') });
    expect(events.map((e) => `${e.type} ${e.data.level}#${e.data.occurrence} ${e.data.late ? 'late' : 'on time'}`)).toEqual([
      'ReminderIssued overdue#3 late',
      'ReminderEscalated escalation#1 on time',
    ]);
  });
});

describe('the overdue series', () => {
  it('falls at D + k·every, each point reckoned from the deadline: monthly after 31 January is 28 February, 31 March, 30 April', () => {
    const deadline = '2025-01-31T09:00:00.000Z';
    const policy = { every: 'P1M' };
    const at = (now: string) => latestReminderPoint(deadline, policy, new Date(now));
    expect(at('2025-02-28T09:00:00.000Z')).toEqual({ level: 'overdue', occurrence: 1, dueAt: '2025-02-28T09:00:00.000Z' });
    expect(at('2025-03-30T09:00:00.000Z')).toEqual({ level: 'overdue', occurrence: 1, dueAt: '2025-02-28T09:00:00.000Z' });
    expect(at('2025-03-31T09:00:00.000Z')).toEqual({ level: 'overdue', occurrence: 2, dueAt: '2025-03-31T09:00:00.000Z' });
    expect(at('2025-05-01T00:00:00.000Z')).toEqual({ level: 'overdue', occurrence: 3, dueAt: '2025-04-30T09:00:00.000Z' });
    expect(nextReminderAt(deadline, policy, new Date('2025-03-01T00:00:00.000Z'))).toBe('2025-03-31T09:00:00.000Z');
    expect(nextReminderAt(deadline, policy, new Date('2025-04-30T09:00:00.000Z'))).toBe('2025-05-31T09:00:00.000Z');
  });

  it('counts every point of a short series long overdue, however many there are', () => {
    const deadline = '2020-01-01T00:00:00.000Z';
    const policy = { every: 'PT1M' };
    const now = new Date('2030-01-01T00:00:30.000Z'); // 5,260,320 minutes later, and 30 s
    expect(latestReminderPoint(deadline, policy, now)).toEqual({ level: 'overdue', occurrence: 5_260_320, dueAt: '2030-01-01T00:00:00.000Z' });
    expect(nextReminderAt(deadline, policy, now)).toBe('2030-01-01T00:01:00.000Z');
  });
});
