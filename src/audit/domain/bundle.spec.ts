import { generateKeyPairSync } from 'node:crypto';
import { chainedHistory, copy, MINI_WORKFLOW } from '../../../test/audit/chained-history';
import { BundleWriter, verifyBundle } from './bundle';
import { canonicalJson } from './hash-chain';

function build(events = chainedHistory('bundle-sample', 2), signingKey?: ReturnType<typeof generateKeyPairSync>['privateKey']) {
  const chunks: string[] = [];
  const writer = new BundleWriter(
    (c) => chunks.push(c),
    BundleWriter.header(events[0], { campaign: 'bundle-sample', exportedAt: '2026-01-01T00:00:00.000Z', store: 'sqlite', exportedBy: 'docket test' }),
  );
  for (const e of events) writer.add(e);
  writer.finish({ signingKey });
  return Buffer.from(chunks.join(''), 'utf8');
}

describe('audit bundles', () => {
  const keys = generateKeyPairSync('ed25519');

  it('verifies a bundle offline and replays it to the campaign it describes', () => {
    const v = verifyBundle(build());
    expect(v.findings).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v).toMatchObject({ campaign: 'bundle-sample', events: 8, signature: { present: false, verified: false, pinned: false } });
    expect(v.summary).toMatchObject({ campaign: 'bundle-sample', stage: 'rectification', status: 'active', revision: 7, units: 2 });
    expect(v.summary!.deliverables.rectification['rectification-plan']).toEqual({ approved: 2, submitted: 0, returned: 0, missing: 0 });
  });

  it('is JSON Lines: a header, the events as stored, and a manifest with the head hash and the digest', () => {
    const events = chainedHistory('bundle-sample', 2);
    const lines = build(events).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    const parsed = lines.map((l) => JSON.parse(l));
    expect(lines.every((l, i) => canonicalJson(parsed[i]) === l)).toBe(true);
    expect(parsed[0]).toMatchObject({ format: 'docket-bundle', version: 1, campaign: 'bundle-sample', stream: 'campaign-bundle-sample', workflow: { id: 'three-searches', version: 1 } });
    expect(parsed.slice(1, -1).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(parsed[parsed.length - 1].manifest).toMatchObject({ events: 8, firstRevision: 0, lastRevision: 7, headHash: events[7].metadata.hash });
  });

  it('verifies a signature against the pinned public key, and refuses another key or a missing signature', () => {
    const signed = build(undefined, keys.privateKey);
    expect(verifyBundle(signed, { publicKey: keys.publicKey })).toMatchObject({ ok: true, signature: { present: true, verified: true, pinned: true } });
    expect(verifyBundle(signed)).toMatchObject({ ok: true, signature: { present: true, verified: true, pinned: false } });
    const stranger = generateKeyPairSync('ed25519');
    const wrong = verifyBundle(signed, { publicKey: stranger.publicKey });
    expect(wrong.ok).toBe(false);
    expect(wrong.findings[0]).toMatchObject({ kind: 'signature' });
    const unsigned = verifyBundle(build(), { publicKey: keys.publicKey });
    expect(unsigned.findings).toEqual([expect.objectContaining({ kind: 'signature', message: expect.stringContaining('not signed') })]);
  });

  it('fails when any single byte of a signed bundle is changed, wherever it is', () => {
    const signed = build(chainedHistory('bundle-sample', 1, MINI_WORKFLOW), keys.privateKey);
    const passed: number[] = [];
    for (let i = 0; i < signed.length; i++) {
      const changed = Buffer.from(signed);
      changed[i] ^= 0x01;
      if (verifyBundle(changed, { publicKey: keys.publicKey }).ok) passed.push(i);
    }
    expect(passed).toEqual([]);
  });

  it('fails when any single byte of an unsigned bundle is changed, wherever it is', () => {
    const bytes = build(chainedHistory('bundle-sample', 1, MINI_WORKFLOW));
    const passed: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const changed = Buffer.from(bytes);
      changed[i] = changed[i] === 0x30 ? 0x31 : 0x30;
      if (verifyBundle(changed).ok) passed.push(i);
    }
    expect(passed).toEqual([]);
  });

  it('names the edited event when an event is changed and the digest recomputed to match', () => {
    const events = chainedHistory('bundle-sample', 2);
    const edited = copy(events);
    (edited[3].data as any).title = '改过的方案';
    const v = verifyBundle(build(edited));
    expect(v.ok).toBe(false);
    expect(v.findings).toEqual([expect.objectContaining({ check: 'bundle', kind: 'edited', campaign: 'bundle-sample', revision: 3, eventId: events[3].id })]);
  });

  it('refuses truncated files, lines out of canonical form and unknown fields', () => {
    const bytes = build();
    expect(verifyBundle(bytes.subarray(0, bytes.length - 1)).findings[0].kind).toBe('malformed');
    const text = bytes.toString('utf8');
    const spaced = '{ ' + text.slice(1);
    expect(verifyBundle(Buffer.from(spaced)).findings[0]).toMatchObject({ kind: 'malformed', message: expect.stringContaining('canonical') });
    expect(verifyBundle(Buffer.from('not a bundle\n')).ok).toBe(false);
    expect(verifyBundle(Buffer.alloc(0)).ok).toBe(false);
  });
});
