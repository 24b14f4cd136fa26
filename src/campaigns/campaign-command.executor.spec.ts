import { resolve } from 'node:path';
import { loadConfig } from '../config/config';
import { ManualClock } from '../common/clock';
import { SqliteEventStore } from '../event-store/sqlite/sqlite-event-store';
import { EventStore } from '../event-store/event-store.port';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import { CampaignRepository } from './campaign.repository';
import { CampaignCommandExecutor } from './campaign-command.executor';
import { campaignStream } from './domain/campaign-events';

const REPO = resolve(__dirname, '../..');
const config = loadConfig({ DOCKET_DATA_DIR: '/tmp', DOCKET_JWT_SECRET: 'x'.repeat(40) }, REPO);
const shipped = loadWorkflowsDir(config.workflowsDir).find((w) => w.id === 'three-searches')!;
// The first stage's deliverables are reviewed by the bureau here, so that reviews can be refused.
const def = { ...shipped, stages: shipped.stages.map((s, i) => (i === 0 ? { ...s, deliverables: s.deliverables!.map((d) => ({ ...d, review: true })) } : s)) };
const bureau = { sub: 'bureau-1', role: 'bureau' as const };
const units = [
  { id: 'u1', name: 'Unit 1' },
  { id: 'u2', name: 'Unit 2' },
];
const firstStage = def.stages[0];
const deliverable = firstStage.deliverables![0].id;

/** Two service instances on one log: each has its own repository cache. */
function twoInstances(store: EventStore) {
  const clock = new ManualClock('2024-03-01T00:00:00Z');
  const make = () => {
    const repo = new CampaignRepository(store, config);
    return { repo, executor: new CampaignCommandExecutor(repo, clock) };
  };
  return { a: make(), b: make() };
}

const submit = (unit: string) => ({ type: 'SubmitDeliverable' as const, data: { unit, deliverable, title: `${unit} plan` } });

describe('CampaignCommandExecutor with a cached state behind the log', () => {
  let store: SqliteEventStore;
  let a: ReturnType<typeof twoInstances>['a'];
  let b: ReturnType<typeof twoInstances>['b'];

  beforeEach(async () => {
    store = new SqliteEventStore({ filename: ':memory:' });
    ({ a, b } = twoInstances(store));
    await a.executor.execute('c1', { type: 'LaunchCampaign', data: { campaignId: 'c1', title: 'T', workflow: def, units } }, { actor: bureau, correlationId: 'x' });
    // b caches the campaign at revision 0, then a moves it on.
    await b.repo.load('c1');
    await a.executor.execute('c1', submit('u1'), { actor: bureau, correlationId: 'x' });
  });
  afterEach(() => store.close());

  it('appends after the events it had not seen, with an unbroken chain', async () => {
    const { events } = await b.executor.execute('c1', submit('u2'), { actor: bureau, correlationId: 'x' });
    expect(events.map((e) => e.revision)).toEqual([2]);
    const log = await store.readStream(campaignStream('c1'));
    expect(log.map((e) => e.revision)).toEqual([0, 1, 2]);
    expect(log[2].metadata.prevHash).toBe(log[1].metadata.hash);
    expect((await b.repo.load('c1'))!.deliverables[firstStage.id]).toEqual(
      expect.objectContaining({ u1: expect.anything(), u2: expect.anything() }),
    );
  });

  it('accepts an If-Match of the current revision though its cache holds an older one', async () => {
    const { events } = await b.executor.execute('c1', submit('u2'), { actor: bureau, correlationId: 'x', expectedRevision: 1 });
    expect(events[0].revision).toBe(2);
  });

  it('refuses an If-Match of the revision its cache holds, naming the current one', async () => {
    await expect(b.executor.execute('c1', submit('u2'), { actor: bureau, correlationId: 'x', expectedRevision: 0 })).rejects.toMatchObject({
      code: 'REVISION_MISMATCH',
      details: { expected: 0, actual: 1 },
    });
    expect(await store.streamRevision(campaignStream('c1'))).toBe(1);
  });

  it('answers an Idempotency-Key repeat that the other instance took, appending nothing', async () => {
    const first = await a.executor.execute('c1', submit('u2'), { actor: bureau, correlationId: 'x', idempotencyKey: 'k-1' });
    const again = await b.executor.execute('c1', submit('u2'), { actor: bureau, correlationId: 'y', idempotencyKey: 'k-1' });
    expect(again.replayed).toBe(true);
    expect(again.events.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    expect(await store.streamRevision(campaignStream('c1'))).toBe(2);
  });

  const review = (unit: string) => ({ type: 'ReviewDeliverable' as const, data: { unit, deliverable, decision: 'approved' as const } });

  it('accepts what the log allows though its cache would have refused it', async () => {
    // b's cache has not seen u1's submission.
    const { events } = await b.executor.execute('c1', review('u1'), { actor: bureau, correlationId: 'x' });
    expect(events).toEqual([expect.objectContaining({ type: 'DeliverableReviewed', revision: 2 })]);
  });

  it('refuses what the log refuses, appending nothing', async () => {
    await expect(b.executor.execute('c1', review('u2'), { actor: bureau, correlationId: 'x' })).rejects.toMatchObject({ code: 'DELIVERABLE_NOT_SUBMITTED' });
    expect(await store.streamRevision(campaignStream('c1'))).toBe(1);
  });
});
