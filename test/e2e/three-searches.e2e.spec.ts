import { Docket, removeDir, startDocket } from '../support/docket-harness';

/**
 * The "three searches" campaign (seed 001) for 47 campus party branches, run to
 * completion through HTTP only, as the bureau and the branches would.
 */
describe('three-searches for 47 party branches, end to end over HTTP', () => {
  const CAMPAIGN = 'nanming-2013-three-searches';
  const units = Array.from({ length: 47 }, (_, i) => ({ id: `branch-${i + 1}`, name: `第${i + 1}党支部` }));
  let docket: Docket;
  /** GET /api/campaigns/:id as it answered right after each revision. */
  const seen = new Map<number, string>();

  const tick = () => docket.clock.advance(60_000);
  const get = async () => {
    const r = await docket.call('GET', `/api/campaigns/${CAMPAIGN}`);
    expect(r.status).toBe(200);
    seen.set(r.body.revision, r.raw);
    return r.body;
  };
  const submit = async (unit: string, deliverable: string) => {
    tick();
    const r = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/submissions`, {
      token: docket.unitToken(unit),
      body: { unit, deliverable, title: `${unit} ${deliverable}`, content: `${unit}：问题、措施、责任人、时限` },
    });
    expect(r.status).toBe(201);
    await get();
  };
  const review = async (unit: string, deliverable: string, decision: 'approved' | 'returned') => {
    tick();
    const r = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/reviews`, { body: { unit, deliverable, decision, comment: decision === 'returned' ? '措施不够具体' : undefined } });
    expect(r.status).toBe(201);
    await get();
  };
  const transition = async (event: string) => {
    tick();
    const r = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/transitions`, { body: { event, reason: 'leading group meeting' } });
    if (r.status === 200) await get();
    return r;
  };

  beforeAll(async () => {
    docket = await startDocket();
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  it('runs from launch to completion, refusing to leave rectification while one plan is unapproved', async () => {
    const workflow = (await docket.call('GET', '/api/workflows/three-searches')).body;
    const stageDef = (id: string) => workflow.stages.find((s: any) => s.id === id);

    const launched = await docket.call('POST', '/api/campaigns', {
      body: { id: CAMPAIGN, workflow: 'three-searches', title: '“找问题、找差距、找目标”主题大讨论', units },
    });
    expect(launched.status).toBe(201);
    expect(launched.body).toEqual({ id: CAMPAIGN, stage: 'learning', status: 'active', revision: 0 });
    await get();

    for (;;) {
      const campaign = await get();
      if (campaign.status === 'completed') break;
      const stage = stageDef(campaign.stage);
      for (const d of stage.deliverables ?? []) {
        for (const u of units) await submit(u.id, d.id);
        if (!d.review) continue;
        if (campaign.stage === 'rectification') {
          // branch-17's plan goes back once for rework, then is resubmitted.
          await review('branch-17', d.id, 'returned');
          await submit('branch-17', d.id);
          for (const u of units) if (u.id !== 'branch-17') await review(u.id, d.id, 'approved');
          const refused = await transition('ADVANCE');
          expect(refused.status).toBe(409);
          expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(refused.body.code).toBe('GUARD_REJECTED');
          expect(refused.body.blockers).toEqual([{ guard: 'allUnitsApproved', deliverable: 'rectification-plan', units: ['branch-17'] }]);
          const view = await get();
          expect(view.transitions).toEqual([
            { event: 'ADVANCE', target: 'consolidation', allowed: false, blockers: refused.body.blockers },
          ]);
          expect(view.units.find((u: any) => u.id === 'branch-17').deliverables['rectification-plan'].status).toBe('submitted');
          await review('branch-17', d.id, 'approved');
        } else {
          for (const u of units) await review(u.id, d.id, 'approved');
        }
      }
      const before = await get();
      const next = before.transitions.find((t: any) => t.allowed);
      expect(next).toBeDefined();
      const moved = await transition(next.event);
      expect(moved.status).toBe(200);
      expect(moved.body.stage).toBe(next.target);
    }

    const done = await get();
    expect(done.stage).toBe('concluded');
    expect(done.status).toBe('completed');
    expect(done.transitions).toEqual([]);
  });

  it('shows every event in the history with its actor, time and hashes, chained', async () => {
    const current = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body;
    const history = await docket.call('GET', `/api/campaigns/${CAMPAIGN}/history?limit=10000`, { token: docket.auditor });
    expect(history.status).toBe(200);
    const events = history.body.events;
    expect(events).toHaveLength(current.revision + 1);
    expect(events.map((e: any) => e.revision)).toEqual(events.map((_: any, i: number) => i));
    for (const e of events) {
      expect(e.actor.sub).toMatch(/^(bureau-office|branch-\d+-secretary)$/);
      expect(e.occurredAt).toMatch(/^2013-/);
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(e.prevHash).toMatch(/^[0-9a-f]{64}$/);
    }
    for (let i = 1; i < events.length; i++) expect(events[i].prevHash).toBe(events[i - 1].hash);
    const submissions = events.filter((e: any) => e.type === 'DeliverableSubmitted');
    expect(submissions.every((e: any) => e.actor.role === 'unit' && e.actor.unit === e.data.unit)).toBe(true);
    const types = new Set(events.map((e: any) => e.type));
    expect([...types].sort()).toEqual(['CampaignCompleted', 'CampaignLaunched', 'DeliverableReviewed', 'DeliverableSubmitted', 'StageAdvanced']);
    const verified = await docket.call('GET', `/api/campaigns/${CAMPAIGN}/verify`, { token: docket.auditor });
    expect(verified.body).toMatchObject({ ok: true, events: events.length });
  });

  it('answers state?revision=N exactly as GET answered right after revision N, for every N seen', async () => {
    expect(seen.size).toBeGreaterThan(47 * 5);
    for (const [revision, raw] of seen) {
      const r = await docket.call('GET', `/api/campaigns/${CAMPAIGN}/state?revision=${revision}`, { token: docket.auditor });
      expect(r.status).toBe(200);
      expect(r.body).toEqual(JSON.parse(raw));
    }
  });

  it('gives a byte-identical GET after a restart on the same data dir', async () => {
    const before = await docket.call('GET', `/api/campaigns/${CAMPAIGN}`);
    const { dataDir, clock } = docket;
    await docket.close();
    docket = await startDocket({ dataDir, clock });
    const after = await docket.call('GET', `/api/campaigns/${CAMPAIGN}`);
    expect(after.status).toBe(200);
    expect(after.raw).toBe(before.raw);
    const verified = await docket.call('GET', `/api/campaigns/${CAMPAIGN}/verify`, { token: docket.auditor });
    expect(verified.body).toMatchObject({ ok: true, events: before.body.revision + 1 });
  });
});
