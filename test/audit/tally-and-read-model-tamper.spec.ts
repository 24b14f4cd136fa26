import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { advanceTo } from '../evaluations/evaluation-support';
import { docketCli } from './audit-support';
import { eventHash } from '../../src/audit/domain/hash-chain';
import { canonicalJson } from '../../src/audit/domain/hash-chain';
import { tallyHash } from '../../src/evaluations/domain/tally';
import { CampaignRepository } from '../../src/campaigns/campaign.repository';
import { CAMPAIGN_SNAPSHOTS, SnapshotStore } from '../../src/campaigns/campaign-snapshots';
import { takeSnapshot } from '../../src/campaigns/domain/campaign-snapshot';

/**
 * The global verify recounts every published tally and compares the read models with the
 * replay: a tally edited in the store — even with every hash recomputed so the chain still
 * links — and a read-model row changed behind the service's back are both named.
 */
describe('global verify: published tallies and read models', () => {
  const CAMPAIGN = 'audit-tally';
  const units = [
    { id: 'branch-1', name: '第一党支部' },
    { id: 'branch-2', name: '第二党支部' },
  ];
  let docket: Docket;
  let evaluationId: string;

  beforeAll(async () => {
    docket = await startDocket();
    await docket.call('POST', '/api/campaigns', { body: { id: CAMPAIGN, workflow: 'strive-for-excellence', title: '创先争优', units } });
    await advanceTo(docket, CAMPAIGN, 'comprehensive-advancement');
    const opened = await docket.call('POST', `/api/campaigns/${CAMPAIGN}/evaluations`, {
      body: { evaluation: 'public-appraisal', groups: ['teachers', 'students', 'parents'].map((id) => ({ id, ballots: 3 })) },
    });
    expect(opened.status).toBe(201);
    evaluationId = opened.body.id;
    for (const token of opened.body.tokens.teachers) {
      const r = await docket.call('POST', `/api/evaluations/${evaluationId}/ballots`, { token: null, body: { token, ratings: { 'branch-1': 'excellent', 'branch-2': 'competent' } } });
      expect(r.status).toBe(201);
    }
    expect((await docket.call('POST', `/api/evaluations/${evaluationId}/close`)).status).toBe(200);
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  const apiVerify = async () => (await docket.call('GET', '/api/audit/verify', { token: docket.auditor })).body;

  it('passes on an untouched log, recounting the tally and comparing the read models', async () => {
    const report = await apiVerify();
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: any) => c.check)).toEqual(expect.arrayContaining(['streams', 'tallies', 'read-models']));
    expect(report.checks.find((c: any) => c.check === 'tallies').checked).toMatchObject({ evaluations: 1, closed: 1, ballots: 3 });
  });

  it('names a published tally edited with its hashes recomputed, which the chain alone cannot see', async () => {
    const db = new Database(join(docket.dataDir, 'docket.sqlite'));
    const stream = `evaluation-${evaluationId}`;
    const row = db.prepare("SELECT * FROM events WHERE stream_id = ? AND type = 'EvaluationClosed'").get(stream) as any;
    const original = { data: row.data, metadata: row.metadata };
    const data = JSON.parse(row.data);
    const meta = JSON.parse(row.metadata);
    // Forge: one more "excellent" for branch-2, tally hash and event hash recomputed so everything links.
    const forged = JSON.parse(canonicalJson(data));
    const text = JSON.stringify(forged.tally);
    forged.tally = JSON.parse(text.replace('"excellent":0', '"excellent":1'));
    forged.tallyHash = tallyHash(forged.tally);
    meta.hash = eventHash(meta.prevHash, { id: row.id, type: row.type, data: forged, metadata: meta });
    db.prepare('UPDATE events SET data = ?, metadata = ? WHERE id = ?').run(JSON.stringify(forged), JSON.stringify(meta), row.id);

    const report = await apiVerify();
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ check: 'tallies', kind: 'tally', stream })]);
    const cli = await docketCli(['verify', '--all', '--json'], { DOCKET_DATA_DIR: docket.dataDir });
    expect(cli.status).toBe(1);
    expect(cli.json.findings).toEqual([expect.objectContaining({ check: 'tallies', kind: 'tally', stream })]);

    db.prepare('UPDATE events SET data = ?, metadata = ? WHERE id = ?').run(original.data, original.metadata, row.id);
    db.close();
    expect((await apiVerify()).ok).toBe(true);
  });

  it('names a read-model row changed behind the service', async () => {
    const rm = new Database(join(docket.dataDir, 'read-models.sqlite'));
    const changed = rm.prepare("UPDATE rm_deliverables SET status = 'approved' WHERE campaign_id = ? AND unit_id = 'branch-2' AND deliverable = 'public-comment' AND stage = 'comprehensive-advancement'").run(CAMPAIGN);
    expect(changed.changes).toBe(1);
    const report = await apiVerify();
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ check: 'read-models', kind: 'read-model', campaign: CAMPAIGN })]);
    rm.prepare("UPDATE rm_deliverables SET status = 'missing' WHERE campaign_id = ? AND unit_id = 'branch-2' AND deliverable = 'public-comment' AND stage = 'comprehensive-advancement'").run(CAMPAIGN);
    rm.close();
    expect((await apiVerify()).ok).toBe(true);
  });

  it('names a campaign snapshot changed behind the service, and passes over one the service would ignore', async () => {
    const snapshots = docket.app.get<SnapshotStore>(CAMPAIGN_SNAPSHOTS);
    const snapshot = takeSnapshot((await docket.app.get(CampaignRepository).load(CAMPAIGN))!);
    await snapshots.put(snapshot);
    let report = await apiVerify();
    expect(report.ok).toBe(true);
    expect(report.checks.find((c: any) => c.check === 'snapshots').checked).toEqual({ snapshots: 1, ignored: 0 });

    const state = JSON.parse(snapshot.state);
    await snapshots.put({ ...snapshot, state: JSON.stringify({ ...state, title: '被改过的标题' }) });
    report = await apiVerify();
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ check: 'snapshots', kind: 'read-model', campaign: CAMPAIGN, revision: snapshot.revision })]);

    // Tied to an event the log does not hold: the service would fold the log instead, so nothing to report.
    await snapshots.put({ ...snapshot, lastHash: '0'.repeat(64), state: JSON.stringify({ ...state, title: '被改过的标题' }) });
    report = await apiVerify();
    expect(report.ok).toBe(true);
    expect(report.checks.find((c: any) => c.check === 'snapshots').checked).toEqual({ snapshots: 0, ignored: 1 });
    await snapshots.put(snapshot);
  });
});
