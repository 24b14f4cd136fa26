import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventHash } from '../../src/audit/domain/hash-chain';
import { Docket, removeDir, startDocket } from '../support/docket-harness';
import { docketCli, dropSchema, PG_URL, postgresTamperer, runSmallCampaign, sqliteTamperer, Tamperer } from './audit-support';

/**
 * Someone with the database's password edits, deletes or reorders stored events behind the
 * service's back. `docket verify` (CLI, service running or not) and the API's verify must fail
 * and name exactly that campaign and event; once the rows are put back, everything verifies again.
 */
describe.each(['sqlite', 'postgres'] as const)('tamper evidence on %s', (kind) => {
  let docket: Docket;
  let tamper: Tamperer;
  const schema = `audit_tamper_${process.pid}_${randomBytes(3).toString('hex')}`;
  const stream = (id: string) => `campaign-${id}`;
  let seq = 0;
  /** A fresh campaign per scenario, so each one's findings can only be about it. */
  const fresh = async () => {
    const id = `tamper-${kind}-${++seq}`;
    const last = await runSmallCampaign(docket, id);
    return { id, last };
  };
  const cli = (...args: string[]) => docketCli(args, tamper.env);
  const apiVerify = async (campaign?: string) => {
    const r = await docket.call('GET', `/api/audit/verify${campaign ? `?campaign=${campaign}` : ''}`, { token: docket.auditor });
    expect(r.status).toBe(200);
    return r.body;
  };
  const streamFindings = (report: any) => report.findings.filter((f: any) => f.check === 'streams');

  beforeAll(async () => {
    docket = await startDocket(kind === 'postgres' ? { env: { DOCKET_STORE: 'postgres', DATABASE_URL: PG_URL, DOCKET_PG_SCHEMA: schema } } : {});
    // Something to tamper with, and campaigns around it that must stay out of the findings.
    await fresh();
    tamper = kind === 'sqlite' ? sqliteTamperer(docket.dataDir) : await postgresTamperer(schema);
  });

  afterAll(async () => {
    await tamper?.close();
    await docket?.close();
    removeDir(docket.dataDir);
    if (kind === 'postgres') await dropSchema(schema);
  });

  it('verifies an untouched log: CLI exit 0, API ok, every stream with its head', async () => {
    const r = await cli('verify', '--all', '--json');
    expect(r.stderr).toBe('');
    expect(r.json.findings).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.store).toBe(kind);
    expect(r.json.checks.map((c: any) => [c.check, c.ok])).toEqual([
      ['streams', true],
      ['log', true],
      ['tallies', true],
      ['read-models', true],
      ['snapshots', true],
    ]);
    expect(r.json.heads).toEqual([expect.objectContaining({ stream: stream(`tamper-${kind}-1`), revision: 10, hash: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
    const api = await apiVerify();
    expect(api.ok).toBe(true);
    expect(api.heads).toEqual(r.json.heads);
    const human = await cli('verify');
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/OK: everything checks/);
  });

  it('serves the global verify to auditors and the bureau only, and checks its query', async () => {
    expect((await docket.call('GET', '/api/audit/verify')).status).toBe(200);
    expect((await docket.call('GET', '/api/audit/verify', { token: docket.unitToken('branch-1') })).status).toBe(403);
    expect((await docket.call('GET', '/api/audit/verify', { token: null })).status).toBe(401);
    for (const q of ['campaign=Bad_Id', 'bogus=1']) expect((await docket.call('GET', `/api/audit/verify?${q}`, { token: docket.auditor })).status).toBe(400);
    const missing = await apiVerify('never-launched');
    expect(missing.findings).toEqual([expect.objectContaining({ kind: 'not-found', campaign: 'never-launched' })]);
  });

  it('names the campaign and the event whose stored data was edited, in the CLI and the API, and passes again once restored', async () => {
    const { id } = await fresh();
    const original = await tamper.row(stream(id), 6);
    await tamper.setData(stream(id), 6, original.data.replace('整改方案', '改过的方案'));

    const r = await cli('verify', '--all', '--json');
    expect(r.status).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.findings).toEqual([
      expect.objectContaining({ check: 'streams', kind: 'edited', campaign: id, stream: stream(id), revision: 6, eventId: original.id, position: original.position }),
    ]);
    const human = await cli('verify');
    expect(human.status).toBe(1);
    expect(human.stdout).toContain(`campaign ${id}, revision 6 (event ${original.id}) was edited`);

    const api = await apiVerify();
    expect(api.ok).toBe(false);
    expect(api.findings).toEqual([expect.objectContaining({ kind: 'edited', campaign: id, revision: 6, eventId: original.id })]);
    const scoped = await cli('verify', id, '--json');
    expect(scoped.status).toBe(1);
    expect(scoped.json.findings).toEqual([expect.objectContaining({ kind: 'edited', campaign: id, revision: 6, eventId: original.id })]);
    const perCampaign = await docket.call('GET', `/api/campaigns/${id}/verify`, { token: docket.auditor });
    expect(perCampaign.body.ok).toBe(false);
    expect(perCampaign.body.campaign).toBe(id);
    expect(perCampaign.body.chain.firstBadEvent).toMatchObject({ revision: 6, eventId: original.id });

    await tamper.setData(stream(id), 6, original.data);
    expect((await cli('verify', '--all')).status).toBe(0);
  });

  it('names the gap a deleted event leaves, with the event after it', async () => {
    const { id } = await fresh();
    const deleted = await tamper.row(stream(id), 4);
    const after = await tamper.row(stream(id), 5);
    await tamper.deleteEvent(stream(id), 4);

    const r = await cli('verify', '--all', '--json');
    expect(r.status).toBe(1);
    expect(streamFindings(r.json)).toEqual([
      expect.objectContaining({ kind: 'missing', campaign: id, revision: 4, details: expect.objectContaining({ nextRevision: 5, nextEventId: after.id, missingHeadHash: JSON.parse(deleted.metadata).hash }) }),
    ]);
    // The log check sees the hole but leaves it to the stream that explains it.
    expect(r.json.findings.filter((f: any) => f.check === 'log')).toEqual([]);
    const api = await apiVerify(id);
    expect(api.findings).toEqual([expect.objectContaining({ kind: 'missing', campaign: id, revision: 4 })]);

    await tamper.insert(deleted);
    expect((await cli('verify', '--all')).status).toBe(0);
  });

  it('names both events of a swap', async () => {
    const { id } = await fresh();
    const a = await tamper.row(stream(id), 2);
    const b = await tamper.row(stream(id), 3);
    await tamper.swapRevisions(stream(id), 2, 3);

    const r = await cli('verify', '--all', '--json');
    expect(r.status).toBe(1);
    expect(r.json.findings).toEqual([
      expect.objectContaining({ kind: 'swapped', campaign: id, revision: 2, eventId: b.id, details: expect.objectContaining({ swappedWith: expect.objectContaining({ revision: 3, eventId: a.id }) }) }),
    ]);
    expect((await apiVerify()).findings).toEqual([expect.objectContaining({ kind: 'swapped', campaign: id, revision: 2, eventId: b.id })]);
    const perCampaign = await docket.call('GET', `/api/campaigns/${id}/verify`, { token: docket.auditor });
    expect(perCampaign.body.chain.firstBadEvent).toMatchObject({ revision: 2, eventId: b.id });

    await tamper.swapRevisions(stream(id), 2, 3);
    expect((await cli('verify', '--all')).status).toBe(0);
  });

  it('names the last event deleted from a stream by the head the store recorded', async () => {
    const { id, last } = await fresh();
    const deleted = await tamper.row(stream(id), last);
    await tamper.deleteEvent(stream(id), last);

    const r = await cli('verify', '--all', '--json');
    expect(r.status).toBe(1);
    expect(r.json.findings).toEqual([
      expect.objectContaining({ check: 'streams', kind: 'missing', campaign: id, revision: last, details: expect.objectContaining({ recordedRevision: last, lastRevision: last - 1 }) }),
    ]);
    expect((await apiVerify()).findings).toEqual([expect.objectContaining({ kind: 'missing', campaign: id, revision: last })]);

    await tamper.insert(deleted);
    expect((await cli('verify', '--all')).status).toBe(0);
  });

  it('catches a deleted last event hidden by rewinding the stream: the log has a hole, and anchored heads name the event', async () => {
    const { id, last } = await fresh();
    const anchorsFile = join(mkdtempSync(join(tmpdir(), 'docket-anchors-')), 'heads.json');
    const anchored = await cli('verify', '--all', '--json');
    expect(anchored.status).toBe(0);
    writeFileSync(anchorsFile, anchored.stdout);
    await fresh(); // later events, so the deleted one is not the last of the whole log

    const deleted = await tamper.row(stream(id), last);
    await tamper.deleteEvent(stream(id), last);
    await tamper.setStreamRevision(stream(id), last - 1);

    const r = await cli('verify', '--all', '--json');
    expect(r.status).toBe(1);
    expect(r.json.findings).toEqual([
      expect.objectContaining({
        check: 'log',
        kind: 'position-gap',
        position: deleted.position,
        details: expect.objectContaining({ candidates: expect.arrayContaining([expect.objectContaining({ campaign: id, lastRevision: last - 1 })]) }),
      }),
    ]);
    expect(r.json.findings[0].message).toContain(`campaign ${id}`);
    expect((await apiVerify()).findings).toEqual([expect.objectContaining({ kind: 'position-gap', position: deleted.position })]);

    const withAnchors = await cli('verify', '--all', '--heads', anchorsFile, '--json');
    expect(withAnchors.status).toBe(1);
    expect(withAnchors.json.findings.filter((f: any) => f.check === 'anchors')).toEqual([
      expect.objectContaining({ kind: 'missing', campaign: id, revision: last, eventId: deleted.id }),
    ]);

    await tamper.insert(deleted);
    await tamper.setStreamRevision(stream(id), last);
    expect((await cli('verify', '--all', '--heads', anchorsFile)).status).toBe(0);
  });

  it('names a rewritten stream head against anchored heads', async () => {
    const { id, last } = await fresh();
    const anchorsFile = join(mkdtempSync(join(tmpdir(), 'docket-anchors-')), 'heads.json');
    writeFileSync(anchorsFile, (await cli('verify', '--all', '--json')).stdout);
    const original = await tamper.row(stream(id), last);
    const meta = JSON.parse(original.metadata);
    await tamper.setData(stream(id), last, original.data.replace('approved', 'returned'));

    const r = await cli('verify', id, '--heads', anchorsFile, '--json');
    expect(r.status).toBe(1);
    expect(r.json.findings).toEqual([
      expect.objectContaining({ check: 'streams', kind: 'edited', campaign: id, revision: last, eventId: original.id }),
    ]);
    // Re-hashing the edited event hides it from the chain (it is the last one) but not from the anchor.
    const forged = { ...meta, hash: eventHash(meta.prevHash, { id: original.id, type: original.type, data: JSON.parse(original.data.replace('approved', 'returned')), metadata: meta }) };
    const rehashed = { ...original, data: original.data.replace('approved', 'returned'), metadata: JSON.stringify(forged) };
    await tamper.deleteEvent(stream(id), last);
    await tamper.insert(rehashed);
    expect((await cli('verify', id, '--json')).status).toBe(0);
    const anchoredRun = await cli('verify', id, '--heads', anchorsFile, '--json');
    expect(anchoredRun.status).toBe(1);
    expect(anchoredRun.json.findings).toEqual([expect.objectContaining({ check: 'anchors', kind: 'rewritten', campaign: id, revision: last, eventId: original.id })]);

    await tamper.deleteEvent(stream(id), last);
    await tamper.insert(original);
    expect((await cli('verify', '--all', '--heads', anchorsFile)).status).toBe(0);
  });
});
