import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { advanceTo } from './evaluation-support';

/**
 * "Create first, strive for excellence" (seeds 002, 004): the comprehensive-advancement
 * stage may only be left once the public appraisal (群众评议) of the party organisations is
 * closed with at least 60% of its ballots cast. A failed appraisal can be run again.
 */
describe('a stage gated by a public appraisal, over HTTP', () => {
  const CAMPAIGN = 'lianshan-2010-strive';
  const units = [
    { id: 'branch-1', name: '第一党支部' },
    { id: 'branch-2', name: '第二党支部' },
    { id: 'kindergarten', name: '幼儿园党支部' },
  ];
  let docket: Docket;

  const advance = () => docket.call('POST', `/api/campaigns/${CAMPAIGN}/transitions`, { body: { event: 'ADVANCE' } });
  const openAppraisal = (ballots = 5, query = '') =>
    docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations${query}`, {
      body: { evaluation: 'public-appraisal', groups: ['teachers', 'students', 'parents'].map((id) => ({ id, ballots })) },
    });
  const vote = (id: string, token: string) =>
    docket.call('POST', `/api/evaluations/${id}/ballots`, { token: null, body: { token, ratings: { 'branch-1': 'excellent', 'branch-2': 'competent', kindergarten: 'excellent' } } });

  beforeAll(async () => {
    docket = await startDocket();
    await docket.call('POST', '/api/campaigns', { body: { id: CAMPAIGN, workflow: 'strive-for-excellence', title: '创先争优活动', units } });
    await advanceTo(docket, CAMPAIGN, 'comprehensive-advancement');
    for (const deliverable of ['public-commitment', 'leadership-review', 'public-comment']) {
      for (const u of units) await docket.call('POST', `/api/campaigns/${CAMPAIGN}/submissions`, { body: { unit: u.id, deliverable, title: deliverable } });
    }
  });
  afterAll(async () => {
    await docket?.close();
    if (docket) removeDir(docket.dataDir);
  });

  let first: string;

  it('refuses to advance before the appraisal was even opened, naming both evaluation guards', async () => {
    const refused = await advance();
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('GUARD_REJECTED');
    expect(refused.body.blockers).toEqual([
      { guard: 'evaluationClosed', evaluation: 'public-appraisal', open: [], reason: 'evaluation public-appraisal has not been opened' },
      { guard: 'minTurnout', evaluation: 'public-appraisal', turnout: null, required: 0.6, evaluations: [], reason: 'evaluation public-appraisal has not been opened' },
    ]);
  });

  it('refuses to open what the stage does not run, or without ballot counts, or for a unit', async () => {
    const unknown = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations`, { body: { evaluation: 'democratic-appraisal' } });
    expect([unknown.status, unknown.body.code]).toEqual([422, 'UNKNOWN_EVALUATION']);
    const counts = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations`, { body: { evaluation: 'public-appraisal' } });
    expect([counts.status, counts.body.code]).toEqual([422, 'INVALID_EVALUATION']);
    const tooMany = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations`, { body: { evaluation: 'public-appraisal', groups: [{ id: 'teachers', ballots: 100_001 }] } });
    expect([tooMany.status, tooMany.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations`, { token: docket.unitToken('branch-1'), body: { evaluation: 'public-appraisal' } })).status).toBe(403);
    expect((await docket.call('POST', '/api/campaigns/nowhere/evaluations', { body: { evaluation: 'public-appraisal' } })).body.code).toBe('CAMPAIGN_NOT_FOUND');
    // A token sheet of more slips than it may hold is refused before anything is written: as JSON the same evaluation opens.
    const sheet = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations?format=html`, { body: { evaluation: 'public-appraisal', groups: [{ id: 'teachers', ballots: 4000 }, { id: 'parents', ballots: 1001 }] } });
    expect([sheet.status, sheet.body.code, sheet.body.issued, sheet.body.max]).toEqual([422, 'TOKEN_SHEET_TOO_LARGE', 5001, 5000]);
    expect((await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body.evaluations).toEqual([]);
  });

  it('prints a token sheet with a QR code per token when opened with ?format=html; the units are the subjects', async () => {
    const sheet = await openAppraisal(5, '?format=html&publicUrl=https://docket.lianshan.example');
    expect(sheet.status).toBe(201);
    expect(sheet.headers['content-type']).toMatch(/^text\/html/);
    expect(sheet.headers['cache-control']).toBe('no-store');
    first = String(sheet.headers.location).split('/').pop()!;
    expect(sheet.raw.match(/<svg /g)).toHaveLength(15);
    // Printed in two lines of four groups.
    const links = [...sheet.raw.matchAll(/class="code">([0-9A-Z-]+)<br>([0-9A-Z-]+)</g)].map((m) => `${m[1]}-${m[2]}`);
    expect(links).toHaveLength(15);
    expect(links[0]).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    expect(sheet.raw).toContain(`https://docket.lianshan.example/ballot?e=${first}`);
    const view = (await docket.call('GET', `/api/evaluations/${first}`)).body;
    expect(view.subjects).toEqual(units);
    expect(view.groups.map((g: any) => [g.id, g.weight, g.issued])).toEqual([
      ['teachers', 0.5, 5],
      ['students', 0.25, 5],
      ['parents', 0.25, 5],
    ]);
    // The printed code, as typed from the slip, is a valid token.
    expect((await vote(first, links[0])).status).toBe(201);
  });

  it('blocks while open, then on turnout below 60% once closed', async () => {
    let refused = await advance();
    expect(refused.body.blockers).toEqual([
      { guard: 'evaluationClosed', evaluation: 'public-appraisal', open: [first], reason: 'evaluation public-appraisal is still open' },
      expect.objectContaining({ guard: 'minTurnout', turnout: null, evaluations: [{ id: first, status: 'open', turnout: null }] }),
    ]);
    expect((await docket.call('POST', `/api/evaluations/${first}/close`)).status).toBe(200);
    refused = await advance();
    expect(refused.status).toBe(409);
    expect(refused.body.blockers).toEqual([
      {
        guard: 'minTurnout',
        evaluation: 'public-appraisal',
        turnout: 0.066667,
        required: 0.6,
        evaluations: [{ id: first, status: 'closed', turnout: 0.066667 }],
        reason: 'turnout 0.066667 is below the required 0.6',
      },
    ]);
    const campaign = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body;
    expect(campaign.transitions[0]).toMatchObject({ event: 'ADVANCE', allowed: false, blockers: [expect.objectContaining({ guard: 'minTurnout', turnout: 0.066667 })] });
  });

  it('advances once a second appraisal, superseding the first, closes with exactly 60% turnout', async () => {
    const second = await openAppraisal(5);
    expect(second.status).toBe(201);
    const id = second.body.id;
    expect((await advance()).body.blockers[0]).toMatchObject({ guard: 'evaluationClosed', open: [id] });
    const tokens: string[] = [...second.body.tokens.teachers, ...second.body.tokens.students.slice(0, 4)];
    for (const t of tokens) expect((await vote(id, t)).status).toBe(201);
    const closed = await docket.call('POST', `/api/evaluations/${id}/close`);
    expect(closed.body.tally).toMatchObject({ issued: 15, cast: 9, turnout: 0.6 });
    const moved = await advance();
    expect(moved.status).toBe(200);
    expect(moved.body.stage).toBe('self-examination');
    const campaign = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body;
    expect(campaign.evaluations.map((e: any) => [e.id, e.status, e.cast])).toEqual([
      [first, 'closed', 1],
      [id, 'closed', 9],
    ]);
  });

  it('refuses to open the appraisal once the campaign has left its stage', async () => {
    const late = await openAppraisal(5);
    expect([late.status, late.body.code, late.body.evaluationStage]).toEqual([422, 'EVALUATION_NOT_IN_STAGE', 'comprehensive-advancement']);
  });
});
