import { startDocket, removeDir } from '../support/docket-harness';
it('probe', async () => {
  const d = await startDocket();
  const units = [{ id: 'b1', name: 'b1' }];
  console.log((await d.call('POST', '/api/campaigns', { body: { id: 'p', workflow: 'three-searches', title: 't', units } })).status);
  await d.call('POST', '/api/campaigns/p/submissions', { body: { unit: 'b1', deliverable: 'problem-list', title: 't' } });
  console.log((await d.call('POST', '/api/campaigns/p/transitions', { body: { event: 'ADVANCE' } })).raw);
  await d.call('POST', '/api/campaigns/p/submissions', { body: { unit: 'b1', deliverable: 'rectification-plan', title: 't' } });
  for (const body of [{ unit: 'b1', deliverable: 'rectification-plan', decision: 'returned', comment: '不够具体' }, { unit: 'b1', deliverable: 'rectification-plan', decision: 'returned', comment: '措施不够具体' },{ unit: 'b1', deliverable: 'rectification-plan', decision: 'returned' }]) {
    const r = await d.call('POST', '/api/campaigns/p/reviews', { body });
    console.log(r.status, r.raw);
    await d.call('POST', '/api/campaigns/p/submissions', { body: { unit: 'b1', deliverable: 'rectification-plan', title: 't' } });
  }
  await d.close(); removeDir(d.dataDir);
});
