import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/common/clock';
import { BallotKeys } from '../../src/evaluations/ballot-keys';
import { ballotMetadata } from '../../src/evaluations/domain/tokens';
import { linkEvents } from '../../src/event-store/chained-append';
import type { AppendOptions, EventData, EventStore } from '../../src/event-store/event-store.port';
import { SqliteEventStore } from '../../src/event-store/sqlite/sqlite-event-store';
import { Docket, removeDir, startDocket, TEST_SECRET } from '../support/docket-harness';
import { advanceTo } from './evaluation-support';

/**
 * Two service instances on one store: each keeps its own in-memory view of the evaluation
 * (spent nullifiers, counts) and appends with the expected revision, so a ballot that
 * lost the race to the other instance is judged again against what that one wrote.
 */
describe('ballots cast through two instances sharing one store', () => {
  const CAMPAIGN = 'two-instances';
  let a: Docket;
  let b: Docket;
  let id: string;
  let tokens: string[];

  const vote = (docket: Docket, token: string, grade = 'excellent') =>
    docket.call('POST', `/api/evaluations/${id}/ballots`, { token: null, body: { token, ratings: { 'principal-wang': grade } } });

  beforeAll(async () => {
    const clock = new ManualClock('2005-03-01T01:00:00.000Z');
    a = await startDocket({ clock });
    b = await startDocket({ clock, dataDir: a.dataDir });
    await a.call('POST', '/api/campaigns', { body: { id: CAMPAIGN, workflow: 'advanced-nature', title: 'two', units: [{ id: 'school', name: '学校' }] } });
    await advanceTo(a, CAMPAIGN, 'supervision-and-evaluation');
    const opened = await a.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations`, {
      body: { evaluation: 'democratic-appraisal', subjects: [{ id: 'principal-wang', name: '王校长' }], groups: [{ id: 'teachers', ballots: 40 }] },
    });
    expect(opened.status).toBe(201);
    id = opened.body.id;
    tokens = opened.body.tokens.teachers;
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    if (a) removeDir(a.dataDir);
  });

  it('takes every ballot once, whichever instance it reaches, and refuses a token spent at the other', async () => {
    const answers = await Promise.all(tokens.slice(0, 30).map((t, i) => vote(i % 2 ? a : b, t)));
    expect(answers.map((r) => r.status)).toEqual(Array(30).fill(201));
    const twice = await Promise.all([vote(a, tokens[30], 'competent'), vote(b, tokens[30], 'incompetent')]);
    expect(twice.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(twice.find((r) => r.status === 409)!.body.code).toBe('TOKEN_ALREADY_USED');
    expect((await vote(a, tokens[0])).body.code).toBe('TOKEN_ALREADY_USED');
    expect((await vote(b, tokens[1])).body.code).toBe('TOKEN_ALREADY_USED');
  });

  it('closes at either instance with every ballot counted, and the other refuses ballots from then on', async () => {
    const closed = await b.call('POST', `/api/evaluations/${id}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body.tally).toMatchObject({ issued: 40, cast: 31 });
    expect((await vote(a, tokens[35])).body.code).toBe('EVALUATION_CLOSED');
    expect((await a.call('GET', `/api/evaluations/${id}/verify`, { token: a.auditor })).body).toMatchObject({ ok: true, matches: true, ballots: 31 });
  });
});

describe('a ballot that loses the race to another instance', () => {
  /** A store in which "another instance" casts a ballot just before this one appends (once, when armed). */
  class RacingStore implements EventStore {
    rival?: { token: string; evaluationId: string };
    constructor(readonly inner: SqliteEventStore) {}
    async appendToStream(streamId: string, events: EventData[], options?: AppendOptions) {
      const rival = this.rival;
      if (rival && streamId === `evaluation-${rival.evaluationId}` && events[0]?.type === 'BallotCast') {
        this.rival = undefined;
        const [head] = await this.inner.readStream(streamId, { direction: 'backwards', maxCount: 1 });
        const nullifier = new BallotKeys({ jwtSecret: TEST_SECRET }).nullifier(rival.evaluationId, rival.token);
        const theirs = linkEvents({ revision: head.revision, hash: head.metadata.hash }, [
          { type: 'BallotCast', data: { group: 'teachers', ratings: { 'principal-wang': 'incompetent' }, nullifier }, metadata: ballotMetadata(new Date()) },
        ]);
        await this.inner.appendToStream(streamId, theirs, { expectedRevision: head.revision });
      }
      return this.inner.appendToStream(streamId, events, options);
    }
    readStream: EventStore['readStream'] = (...a) => this.inner.readStream(...a);
    readAll: EventStore['readAll'] = (...a) => this.inner.readAll(...a);
    streamRevision: EventStore['streamRevision'] = (...a) => this.inner.streamRevision(...a);
    listStreams: EventStore['listStreams'] = (...a) => this.inner.listStreams(...a);
    subscribeToAll: EventStore['subscribeToAll'] = (...a) => this.inner.subscribeToAll(...a);
    close: EventStore['close'] = () => this.inner.close();
  }

  let docket: Docket;
  let store: RacingStore;
  let id: string;
  let tokens: string[];
  const vote = (token: string) => docket.call('POST', `/api/evaluations/${id}/ballots`, { token: null, body: { token, ratings: { 'principal-wang': 'excellent' } } });

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'docket-race-'));
    store = new RacingStore(new SqliteEventStore({ filename: join(dataDir, 'docket.sqlite'), synchronous: 'NORMAL' }));
    docket = await startDocket({ dataDir, store });
    await docket.call('POST', '/api/campaigns', { body: { id: 'race', workflow: 'advanced-nature', title: 'race', units: [{ id: 'school', name: '学校' }] } });
    await advanceTo(docket, 'race', 'supervision-and-evaluation');
    const opened = await docket.call('POST', '/api/campaigns/race/evaluations', {
      body: { evaluation: 'democratic-appraisal', subjects: [{ id: 'principal-wang', name: '王校长' }], groups: [{ id: 'teachers', ballots: 5 }] },
    });
    id = opened.body.id;
    tokens = opened.body.tokens.teachers;
  });
  afterAll(async () => {
    await docket?.close();
    await store?.close();
    if (docket) removeDir(docket.dataDir);
  });

  it('is judged again against what the other wrote: refused when the other spent the same token', async () => {
    store.rival = { token: tokens[0], evaluationId: id };
    const lost = await vote(tokens[0]);
    expect([lost.status, lost.body.code]).toEqual([409, 'TOKEN_ALREADY_USED']);
    expect((await docket.call('GET', `/api/evaluations/${id}`)).body.cast).toBe(1);
  });

  it('is stored after the other one when the tokens differ', async () => {
    store.rival = { token: tokens[1], evaluationId: id };
    expect((await vote(tokens[2])).status).toBe(201);
    const view = (await docket.call('GET', `/api/evaluations/${id}`)).body;
    expect(view.cast).toBe(3);
    expect((await docket.call('GET', `/api/evaluations/${id}/verify`, { token: docket.auditor })).body).toMatchObject({ ok: true, ballots: 3, chain: { ok: true } });
  });
});
