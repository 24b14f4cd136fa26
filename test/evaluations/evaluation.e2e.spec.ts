import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store';
import { EVENT_STORE, EventStore } from '../../src/event-store/event-store.port';
import { verifyTally } from '../../src/cli/tally.command';
import { BallotKeys } from '../../src/evaluations/ballot-keys';
import { Docket, removeDir, startDocket, TEST_SECRET } from '../support/docket-harness';
import { advanceTo, inWaves, random } from './evaluation-support';

/**
 * The acceptance scenario of democratic evaluations (民主测评): a school's three leaders
 * rated by 120 teachers, 400 parents, 400 students and 30 staff-congress delegates, over
 * HTTP, anonymously; the published tally equals one computed here independently, an
 * auditor's recount agrees, and the stored ballots carry nothing that links them to a voter.
 */
describe('a democratic evaluation of three leaders by four voter groups, end to end over HTTP', () => {
  const CAMPAIGN = 'dafeng-2005-advanced-nature';
  const units = [
    { id: 'zhongxin-school', name: '中心校' },
    { id: 'experimental-school', name: '实验小学' },
  ];
  const leaders = [
    { id: 'principal-wang', name: '王校长' },
    { id: 'secretary-li', name: '李书记' },
    { id: 'vice-principal-zhao', name: '赵副校长' },
  ];
  const groups = [
    { id: 'teachers', ballots: 120, weight: 0.3, turnout: 110 },
    { id: 'parents', ballots: 400, weight: 0.15, turnout: 330 },
    { id: 'students', ballots: 400, weight: 0.15, turnout: 372 },
    { id: 'staff-congress-delegates', ballots: 30, weight: 0.4, turnout: 30 },
  ];
  const grades = ['excellent', 'competent', 'basically-competent', 'incompetent'];
  const scores: Record<string, number> = { excellent: 100, competent: 80, 'basically-competent': 60, incompetent: 0 };
  /** Markers a voter's request carries; none may reach the store. */
  const VOTER_HEADERS = { 'user-agent': 'VoterPhone/7.1 marker-ua-5f2c', 'x-forwarded-for': '203.0.113.77', 'x-real-ip': '198.51.100.23', 'x-correlation-id': 'marker-voter-alice' };

  let docket: Docket;
  let evaluationId: string;
  let tokens: Record<string, string[]>;
  /** Every ballot accepted, as the test cast it: the ground truth of the independent tally. */
  const cast: { group: string; ratings: Record<string, string> }[] = [];

  const ballot = (token: string, ratings: Record<string, string>, id = evaluationId) =>
    docket.call('POST', `/api/evaluations/${id}/ballots`, { token: null, body: { token, ratings }, headers: VOTER_HEADERS });
  const revision = async () => (await docket.call('GET', `/api/evaluations/${evaluationId}`)).body.revision as number;

  beforeAll(async () => {
    docket = await startDocket();
    const launched = await docket.call('POST', '/api/campaigns', { body: { id: CAMPAIGN, workflow: 'advanced-nature', title: '保持共产党员先进性教育系列主题活动', units } });
    expect(launched.status).toBe(201);
    await advanceTo(docket, CAMPAIGN, 'supervision-and-evaluation');
  });
  afterAll(async () => {
    await docket?.close();
    if (docket) removeDir(docket.dataDir);
  });

  it('refuses subjects or voter groups given as an array inside the array, opening nothing', async () => {
    const before = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body.revision;
    const base = { evaluation: 'democratic-appraisal', unit: 'zhongxin-school', title: 't', subjects: leaders, groups: groups.map((g) => ({ id: g.id, ballots: g.ballots })) };
    for (const body of [{ ...base, subjects: [leaders] }, { ...base, subjects: [[]] }, { ...base, groups: [base.groups] }]) {
      const r = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations`, { body });
      expect([r.status, r.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body.revision).toBe(before);
  });

  it('opens the evaluation: tokens once, at least 128 random bits each, only their hashes stored', async () => {
    const opened = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations`, {
      body: {
        evaluation: 'democratic-appraisal',
        unit: 'zhongxin-school',
        title: '中心校领导班子成员民主测评',
        subjects: leaders,
        groups: groups.map((g) => ({ id: g.id, ballots: g.ballots })),
      },
    });
    expect(opened.status).toBe(201);
    expect(opened.headers['cache-control']).toBe('no-store');
    evaluationId = opened.body.id;
    tokens = opened.body.tokens;
    expect(opened.headers.location).toBe(`/api/evaluations/${evaluationId}`);
    expect(opened.body).toMatchObject({
      campaign: CAMPAIGN,
      stage: 'supervision-and-evaluation',
      evaluation: 'democratic-appraisal',
      unit: 'zhongxin-school',
      status: 'open',
      subjects: leaders,
      issued: 950,
      cast: 0,
      scale: grades.map((id) => expect.objectContaining({ id, score: scores[id] })),
      groups: groups.map((g) => expect.objectContaining({ id: g.id, issued: g.ballots, weight: g.weight, cast: 0 })),
    });
    expect(opened.body.scale.map((k: any) => k.title.zh)).toEqual(['优秀', '称职', '基本称职', '不称职']);
    for (const g of groups) expect(tokens[g.id]).toHaveLength(g.ballots);
    const all = Object.values(tokens).flat();
    expect(new Set(all).size).toBe(950);
    // 32 characters of base32: 160 bits.
    for (const t of all) expect(t).toMatch(/^[0-9A-HJKMNP-TV-Z]{32}$/);

    const stored = (await docket.app.get<EventStore>(EVENT_STORE).readStream(`evaluation-${evaluationId}`))[0];
    expect(stored.type).toBe('EvaluationOpened');
    const text = JSON.stringify(stored);
    for (const t of all.slice(0, 50)) expect(text).not.toContain(t);
    expect(stored.data.tokenHashes.teachers).toContain(createHash('sha256').update(tokens.teachers[0]).digest('hex'));

    const view = (await docket.call('GET', `/api/evaluations/${evaluationId}`)).body;
    expect(JSON.stringify(view)).not.toContain(tokens.teachers[0]);
    expect(view.tally).toBeUndefined();
  });

  it('keeps the campaign from completing while the evaluation is open, naming it as the blocker', async () => {
    const campaign = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body;
    expect(campaign.evaluations).toEqual([
      expect.objectContaining({ id: evaluationId, evaluation: 'democratic-appraisal', status: 'open', issued: 950, unit: 'zhongxin-school' }),
    ]);
    const blockers = campaign.transitions[0].blockers;
    expect(blockers).toContainEqual({ guard: 'evaluationClosed', evaluation: 'democratic-appraisal', open: [evaluationId], reason: 'evaluation democratic-appraisal is still open' });
    expect(blockers).toContainEqual(
      expect.objectContaining({ guard: 'minTurnout', evaluation: 'democratic-appraisal', turnout: null, required: 0.8, evaluations: [{ id: evaluationId, status: 'open', turnout: null }] }),
    );
  });

  it('takes one ballot per token from anybody holding one, without a bearer token', async () => {
    const rnd = random(20050301);
    /** Each group leans its own way; about one ballot in ten abstains on one leader. */
    const lean: Record<string, number[]> = {
      teachers: [0.45, 0.4, 0.12, 0.03],
      parents: [0.6, 0.3, 0.08, 0.02],
      students: [0.55, 0.35, 0.08, 0.02],
      'staff-congress-delegates': [0.3, 0.5, 0.15, 0.05],
    };
    const pick = (p: number[]) => {
      let x = rnd();
      for (let k = 0; k < p.length; k++) if ((x -= p[k]) < 0) return grades[k];
      return grades[grades.length - 1];
    };
    const planned: { token: string; group: string; ratings: Record<string, string> }[] = [];
    for (const g of groups) {
      for (const token of tokens[g.id].slice(0, g.turnout)) {
        const ratings: Record<string, string> = {};
        const skip = rnd() < 0.1 ? Math.floor(rnd() * leaders.length) : -1;
        leaders.forEach((l, i) => {
          if (i !== skip) ratings[l.id] = pick(lean[g.id]);
        });
        planned.push({ token, group: g.id, ratings });
      }
    }
    // Voters arrive mixed, many at once (the service commits concurrent ballots together).
    planned.sort(() => rnd() - 0.5);
    await inWaves(planned, 40, async (b) => {
      const r = await ballot(b.token, b.ratings);
      expect(r.status).toBe(201);
      expect(r.body).toEqual({ accepted: true });
      cast.push({ group: b.group, ratings: b.ratings });
    });
    // A typed token: lower case, with spaces and dashes.
    const typed = tokens.teachers[119];
    const lower = typed.toLowerCase().replace(/(.{4})/g, '$1 - ');
    expect((await ballot(lower, { 'principal-wang': 'competent' })).status).toBe(201);
    cast.push({ group: 'teachers', ratings: { 'principal-wang': 'competent' } });

    const view = (await docket.call('GET', `/api/evaluations/${evaluationId}`)).body;
    expect(view.cast).toBe(843);
    expect(view.groups.map((g: any) => [g.id, g.cast])).toEqual([
      ['teachers', 111],
      ['parents', 330],
      ['students', 372],
      ['staff-congress-delegates', 30],
    ]);
    expect(view.tally).toBeUndefined();
  });

  it('refuses a reused token (409), an unknown one (403), a grade or subject it does not rate (422), appending nothing', async () => {
    const before = await revision();
    const reused = await ballot(tokens.teachers[0], { 'principal-wang': 'excellent' });
    expect(reused.status).toBe(409);
    expect(reused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(reused.body.code).toBe('TOKEN_ALREADY_USED');
    expect((await ballot(tokens.teachers[119], { 'secretary-li': 'excellent' })).body.code).toBe('TOKEN_ALREADY_USED');

    const unknown = await ballot('ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ', { 'principal-wang': 'excellent' });
    expect([unknown.status, unknown.body.code]).toEqual([403, 'UNKNOWN_TOKEN']);
    expect((await ballot('not a token', { 'principal-wang': 'excellent' })).body.code).toBe('UNKNOWN_TOKEN');

    const fresh = tokens.parents[399];
    const badGrade = await ballot(fresh, { 'principal-wang': '优秀' });
    expect([badGrade.status, badGrade.body.code]).toEqual([422, 'INVALID_RATING']);
    expect(badGrade.body.grades).toEqual(grades);
    const badSubject = await ballot(fresh, { 'principal-wang': 'excellent', 'headmaster-qian': 'excellent' });
    expect([badSubject.status, badSubject.body.code, badSubject.body.subject]).toEqual([422, 'INVALID_RATING', 'headmaster-qian']);
    expect((await ballot(fresh, {})).body.code).toBe('INVALID_RATING');
    expect((await docket.call('POST', `/api/evaluations/${evaluationId}/ballots`, { token: null, body: { token: fresh } })).status).toBe(400);
    const extra = await docket.call('POST', `/api/evaluations/${evaluationId}/ballots`, { token: null, body: { token: fresh, ratings: { 'principal-wang': 'excellent' }, voter: 'alice' } });
    expect([extra.status, extra.body.code, extra.body.errors]).toEqual([400, 'VALIDATION_FAILED', [{ field: 'voter', problems: ['property voter should not exist'] }]]);
    expect((await docket.call('POST', '/api/evaluations/ev-nowhere/ballots', { token: null, body: { token: fresh, ratings: { a: 'excellent' } } })).body.code).toBe(
      'EVALUATION_NOT_FOUND',
    );
    expect(await revision()).toBe(before);
    // A refused ballot does not spend its token.
    expect((await ballot(fresh, { 'principal-wang': 'basically-competent' })).status).toBe(201);
    cast.push({ group: 'parents', ratings: { 'principal-wang': 'basically-competent' } });
    expect(await revision()).toBe(before + 1);
  });

  it('shows voters a ballot page, and bureau and auditors only the evaluation itself', async () => {
    const page = await docket.call('GET', `/ballot?e=${evaluationId}`, { token: null });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    for (const l of leaders) expect(page.raw).toContain(l.name);
    expect(page.raw).toContain('优秀');
    expect((await docket.call('GET', '/ballot?e=ev-nowhere', { token: null })).status).toBe(404);
    expect((await docket.call('GET', `/api/evaluations/${evaluationId}`, { token: null })).status).toBe(401);
    expect((await docket.call('GET', `/api/evaluations/${evaluationId}`, { token: docket.unitToken('zhongxin-school') })).status).toBe(403);
    expect((await docket.call('GET', `/api/evaluations/${evaluationId}`, { token: docket.auditor })).status).toBe(200);
    expect((await docket.call('POST', `/api/evaluations/${evaluationId}/close`, { token: docket.auditor })).status).toBe(403);
    expect((await docket.call('GET', `/api/evaluations/${evaluationId}/tally.csv`)).body.code).toBe('EVALUATION_NOT_CLOSED');
  });

  it('closes with a tally equal to one computed independently from the ballots cast', async () => {
    docket.clock.advance(86400_000);
    const closed = await docket.call('POST', `/api/evaluations/${evaluationId}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body.status).toBe('closed');
    const tally = closed.body.tally;
    expect(closed.body.tallyHash).toMatch(/^[0-9a-f]{64}$/);
    expect(cast).toHaveLength(844);

    // The independent computation: plain loops over the ballots the test cast.
    const issued = groups.reduce((n, g) => n + g.ballots, 0);
    expect(tally).toMatchObject({ grades, issued, cast: 844, turnout: expect.closeTo(844 / 950, 6) });
    for (const g of groups) {
      const n = cast.filter((b) => b.group === g.id).length;
      expect(tally.groups.find((x: any) => x.id === g.id)).toEqual({ id: g.id, weight: g.weight, issued: g.ballots, cast: n, turnout: expect.closeTo(n / g.ballots, 6) });
    }
    for (const leader of leaders) {
      const subject = tally.subjects.find((s: any) => s.id === leader.id);
      expect(subject.name).toBe(leader.name);
      const total: Record<string, number> = Object.fromEntries(grades.map((k) => [k, 0]));
      let weighted = 0;
      let weights = 0;
      for (const g of groups) {
        const mine = cast.filter((b) => b.group === g.id && b.ratings[leader.id]);
        const counts: Record<string, number> = Object.fromEntries(grades.map((k) => [k, 0]));
        for (const b of mine) counts[b.ratings[leader.id]] += 1;
        for (const k of grades) total[k] += counts[k];
        const average = mine.reduce((p, b) => p + scores[b.ratings[leader.id]], 0) / mine.length;
        weighted += g.weight * average;
        weights += g.weight;
        const row = subject.groups.find((x: any) => x.id === g.id);
        expect(row.votes).toBe(mine.length);
        expect(row.counts).toEqual(counts);
        expect(row.score).toBeCloseTo(average, 5);
        expect(row.excellentShare).toBeCloseTo(counts.excellent / mine.length, 5);
        expect(row.incompetentShare).toBeCloseTo(counts.incompetent / mine.length, 5);
      }
      const votes = Object.values(total).reduce((a, b) => a + b, 0);
      expect(subject.counts).toEqual(total);
      expect(subject.votes).toBe(votes);
      expect(subject.score).toBeCloseTo(weighted / weights, 5);
      expect(subject.excellentShare).toBeCloseTo(total.excellent / votes, 5);
      expect(subject.incompetentShare).toBeCloseTo(total.incompetent / votes, 5);
    }
    expect((await docket.call('GET', `/api/evaluations/${evaluationId}`, { token: docket.auditor })).body.tally).toEqual(tally);
  });

  it('refuses ballots and a second close once closed, appending nothing', async () => {
    const before = await revision();
    const late = await ballot(tokens.students[399], { 'principal-wang': 'excellent' });
    expect([late.status, late.body.code]).toEqual([409, 'EVALUATION_CLOSED']);
    expect((await docket.call('POST', `/api/evaluations/${evaluationId}/close`)).body.code).toBe('EVALUATION_CLOSED');
    expect(await revision()).toBe(before);
    expect((await docket.call('GET', `/ballot?e=${evaluationId}`, { token: null })).raw).toContain('This evaluation is closed');
  });

  it('lets the campaign complete once the evaluation is closed with enough turnout and the term is over', async () => {
    let campaign = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body;
    expect(campaign.evaluations[0]).toMatchObject({ id: evaluationId, status: 'closed', issued: 950, cast: 844, turnout: expect.closeTo(844 / 950, 6) });
    expect(campaign.transitions[0].blockers.map((b: any) => b.guard)).toEqual(['allUnitsSubmitted', 'after']);
    for (const u of units) await docket.call('POST', `/api/campaigns/${CAMPAIGN}/submissions`, { body: { unit: u.id, deliverable: 'activity-summary', title: 'summary' } });
    docket.clock.advance(90 * 86400_000);
    const done = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/transitions`, { body: { event: 'COMPLETE' } });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('completed');
    campaign = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}`)).body;
    expect(campaign.status).toBe('completed');
  });

  it('lets an auditor recount the tally from the stored ballots, over HTTP and with the CLI, and get the same answer', async () => {
    const verified = await docket.call('GET', `/api/evaluations/${evaluationId}/verify`, { token: docket.auditor });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({
      ok: true,
      status: 'closed',
      ballots: 844,
      chain: { ok: true },
      rules: { ok: true, problems: [] },
      matches: true,
      differences: [],
      published: { hashOk: true },
      campaign: { id: CAMPAIGN, recorded: true, tallyHashMatches: true, ok: true },
    });
    expect(verified.body.recomputed.tallyHash).toBe(verified.body.published.tallyHash);

    const store = new SqliteEventStore({ filename: join(docket.dataDir, 'docket.sqlite') });
    try {
      const report = await verifyTally(store, evaluationId);
      expect(report).toEqual(verified.body);
    } finally {
      await store.close();
    }
  });

  it('exports the result as CSV', async () => {
    const r = await docket.call('GET', `/api/evaluations/${evaluationId}/tally.csv`, { token: docket.auditor });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/csv/);
    const lines = r.raw.replace(/^\ufeff/, '').trim().split('\r\n');
    expect(lines[0]).toBe('subject,subject_name,group,weight,issued,cast,turnout,votes,excellent,competent,basically-competent,incompetent,score,excellent_share,incompetent_share');
    expect(lines).toHaveLength(1 + leaders.length * (groups.length + 1));
    const tally = (await docket.call('GET', `/api/evaluations/${evaluationId}`)).body.tally;
    const wang = tally.subjects[0];
    expect(lines[5]).toBe(
      ['principal-wang', '王校长', 'all', '', 950, 844, tally.turnout, wang.votes, ...grades.map((k) => wang.counts[k]), wang.score, wang.excellentShare, wang.incompetentShare].join(','),
    );
  });

  it('stores ballots that carry nothing linking them to a voter: no token or its hash, no actor, address, user agent or time of day', async () => {
    const file = join(docket.dataDir, 'docket.sqlite');
    const db = new Database(file, { readonly: true, fileMustExist: true });
    let rows: { id: string; type: string; data: string; metadata: string; revision: number }[];
    try {
      rows = db.prepare('SELECT id, type, data, metadata, revision FROM events WHERE stream_id = ? ORDER BY revision').all(`evaluation-${evaluationId}`) as any;
    } finally {
      db.close();
    }
    const ballots = rows.filter((r) => r.type === 'BallotCast');
    expect(ballots).toHaveLength(844);
    const allTokens = Object.values(tokens).flat();
    const tokenHashes = new Set(allTokens.map((t) => createHash('sha256').update(t).digest('hex')));
    const keys = new BallotKeys({ jwtSecret: TEST_SECRET });
    const nullifiers = new Set<string>();
    const days = new Set<string>();
    for (const row of ballots) {
      const data = JSON.parse(row.data);
      const metadata = JSON.parse(row.metadata);
      expect(Object.keys(data).sort()).toEqual(['group', 'nullifier', 'ratings']);
      expect(Object.keys(metadata).sort()).toEqual(['actor', 'hash', 'occurredAt', 'prevHash']);
      expect(metadata.actor).toEqual({ sub: 'anonymous', role: 'voter' });
      expect(metadata.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
      days.add(metadata.occurredAt);
      // A random (version 4) id: no time, no counter, no host in it.
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(tokenHashes.has(data.nullifier)).toBe(false);
      nullifiers.add(data.nullifier);
    }
    expect(days.size).toBe(1);
    expect(nullifiers.size).toBe(844);
    // A nullifier is a keyed hash: reproducible with the service's secret, and only with it.
    const spentTeacher = keys.nullifier(evaluationId, tokens.teachers[0]);
    expect(nullifiers.has(spentTeacher)).toBe(true);
    expect(nullifiers.has(new BallotKeys({ jwtSecret: 'another-secret-another-secret-0123456' }).nullifier(evaluationId, tokens.teachers[0]))).toBe(false);
    expect(nullifiers.has(createHash('sha256').update(`${evaluationId}\n${tokens.teachers[0]}`).digest('hex'))).toBe(false);

    // Nowhere in the store's files: no token (as issued or as typed), no address, user agent or correlation id of a voter.
    await docket.close();
    const bytes = readdirSync(docket.dataDir)
      .filter((f) => f.startsWith('docket.sqlite'))
      .map((f) => readFileSync(join(docket.dataDir, f)).toString('latin1'))
      .join('\n');
    for (const marker of Object.values(VOTER_HEADERS)) expect(bytes.includes(marker)).toBe(false);
    for (const t of allTokens) expect(bytes.includes(t)).toBe(false);
    docket = await startDocket({ dataDir: docket.dataDir, clock: docket.clock });
    expect((await docket.call('GET', `/api/evaluations/${evaluationId}`)).body.cast).toBe(844);
  });
});
