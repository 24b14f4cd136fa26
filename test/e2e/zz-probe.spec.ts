import { startDocket, removeDir } from '../support/docket-harness';
it('probe', async () => {
  const d = await startDocket();
  const units = [{ id: 'b1', name: 'b1' }];
  await d.call('POST', '/api/campaigns', { body: { id: 'p', workflow: 'three-searches', title: 't', units } });
  for (const url of ['/api/campaigns/p/state?revision=999999999999999999999', '/api/campaigns/p/state?revision=9007199254740993', '/api/campaigns/p/history?fromRevision=999999999999999999999', '/api/campaigns/p/history?fromRevision=1e400', '/api/campaigns/p/history?limit=1e400',
   '/api/campaigns?offset=1e21', '/api/campaigns?limit=1e21', '/api/campaigns/p/state?at=9999-12-31', '/api/campaigns/p/state?at=0000-01-01', '/api/campaigns/p/state?at=2013-13-45', '/api/campaigns/p/state?revision=0x10', '/api/campaigns/p/state?revision=1&revision=2', '/api/campaigns?stage=a&stage=b', '/api/workflows/three-searches?version=1e400', '/api/workflows/x'.repeat(1), '/api/campaigns/p/state?at=2013-08-22T01:00:00+99:99']) {
    const r = await d.call('GET', url);
    console.log(url, r.status, r.raw.slice(0, 200));
  }
  const r = await d.call('POST', '/api/campaigns/p/submissions', { body: { unit: 'b1', deliverable: 'problem-list', title: 't' }, headers: { 'if-match': '"999999999999999"' } });
  console.log(r.status, r.raw.slice(0,200));
  await d.close(); removeDir(d.dataDir);
});
