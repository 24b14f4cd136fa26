import { chainedHistory, copy } from '../../../test/audit/chained-history';
import { eventHash } from './hash-chain';
import { StreamAuditor } from './stream-audit';

const STREAM = 'campaign-audit-sample';

function audit(events: any[], recordedRevision?: number) {
  const auditor = new StreamAuditor(STREAM, { recordedRevision });
  for (const e of events) auditor.push(e);
  return auditor.finish();
}

describe('auditing one stream', () => {
  const history = chainedHistory();
  const last = history.length - 1;

  it('passes an untouched campaign, replays it and reports its head', () => {
    const r = audit(copy(history), last);
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ campaign: 'audit-sample', events: history.length, lastRevision: last, chainOk: true, replay: 'ok', headHash: history[last].metadata.hash });
    expect(r.state?.stage).toBe('rectification');
  });

  it('names an edited event as edited, with both hashes', () => {
    const events = copy(history);
    (events[6].data as any).title = '改过的方案';
    const r = audit(events, last);
    expect(r.findings).toEqual([
      expect.objectContaining({ kind: 'edited', campaign: 'audit-sample', revision: 6, eventId: events[6].id, details: { expected: expect.any(String), found: history[6].metadata.hash } }),
    ]);
    expect(r.replay).toBe('skipped');
    expect(r.state).toBeUndefined();
  });

  it('names the revisions a deleted event leaves missing and the event after the gap', () => {
    const events = copy(history);
    events.splice(4, 2);
    const [f] = audit(events, last).findings;
    expect(f).toMatchObject({ kind: 'missing', revision: 4, details: { missingFrom: 4, missingTo: 5, nextRevision: 6, nextEventId: history[6].id } });
    expect(f.message).toContain('revisions 4–5 are missing');
  });

  it('names both events of a swap, whichever way the rows were exchanged', () => {
    const byRevision = copy(history);
    [byRevision[2], byRevision[3]] = [byRevision[3], byRevision[2]];
    byRevision[2].revision = 2;
    byRevision[3].revision = 3;
    expect(audit(byRevision, last).findings).toEqual([
      expect.objectContaining({ kind: 'swapped', revision: 2, eventId: history[3].id, details: expect.objectContaining({ swappedWith: { revision: 3, eventId: history[2].id, position: 3 } }) }),
    ]);
  });

  it('names a deleted last event by the revision the store recorded', () => {
    const events = copy(history).slice(0, -1);
    expect(audit(events, last).findings).toEqual([
      expect.objectContaining({ kind: 'missing', revision: last, details: expect.objectContaining({ recordedRevision: last, lastRevision: last - 1, lastEventId: history[last - 1].id }) }),
    ]);
  });

  it('names events appended behind the store\'s back, beyond the revision it recorded', () => {
    expect(audit(copy(history), last - 2).findings).toEqual([expect.objectContaining({ kind: 'unrecorded', revision: last - 1, eventId: history[last - 1].id })]);
  });

  it('calls an event unlinked when its predecessor was re-hashed after an edit, and names it', () => {
    const events = copy(history);
    (events[3].data as any).title = 'forged';
    events[3].metadata.hash = eventHash(events[3].metadata.prevHash, events[3] as any);
    const [f] = audit(events, last).findings;
    expect(f).toMatchObject({ kind: 'unlinked', revision: 4, eventId: history[4].id });
    expect(f.message).toContain('revision 3 was rewritten together with its hash');
  });

  it('calls the first event unlinked when the stream no longer starts at the genesis hash', () => {
    const events = copy(history).slice(1).map((e, i) => ({ ...e, revision: i }));
    expect(audit(events).findings[0]).toMatchObject({ kind: 'unlinked', revision: 0 });
  });

  it('flags a stream without a hash chain', () => {
    const events = copy(history).map((e) => ({ ...e, metadata: { actor: e.metadata.actor, occurredAt: e.metadata.occurredAt } }));
    expect(audit(events).findings[0].message).toContain('carries no hash chain');
  });

  it('refuses, in the replay, a correctly chained history that decide() could never have written', () => {
    // A review of a deliverable never submitted, chained properly: only the replay can tell.
    const events = copy(history).slice(0, 5);
    const review = { id: 'forged-review', type: 'DeliverableReviewed', revision: 5, data: { stage: 'rectification', unit: 'branch-1', deliverable: 'rectification-plan', decision: 'approved', version: 1 }, metadata: { ...events[4].metadata, prevHash: events[4].metadata.hash } as any };
    review.metadata.hash = eventHash(review.metadata.prevHash, review);
    const r = audit([...events, review], 5);
    expect(r.chainOk).toBe(true);
    expect(r.replay).toBe('failed');
    expect(r.findings).toEqual([expect.objectContaining({ kind: 'replay', revision: 5, eventId: 'forged-review' })]);
    expect(r.findings[0].message).toContain('which was never submitted');
  });

  it('refuses a history that does not start with CampaignLaunched, or names another campaign', () => {
    const other = new StreamAuditor('campaign-someone-else', {});
    for (const e of copy(history)) other.push(e);
    expect(other.finish().findings[0].message).toContain('CampaignLaunched names campaign audit-sample, not someone-else');
  });

  it('does not replay streams that are not campaigns, and still checks their chain', () => {
    const auditor = new StreamAuditor('evaluation-e1', { recordedRevision: last });
    for (const e of copy(history)) auditor.push(e);
    const r = auditor.finish();
    expect(r).toMatchObject({ replay: 'not-applicable', chainOk: true, findings: [] });
    expect(r.campaign).toBeUndefined();
  });
});
