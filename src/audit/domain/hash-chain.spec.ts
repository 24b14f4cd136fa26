import { canonicalJson, eventHash, GENESIS_HASH, verifyChain, ChainedEvent } from './hash-chain';

function chain(n: number): ChainedEvent[] {
  const out: ChainedEvent[] = [];
  let prev = GENESIS_HASH;
  for (let i = 0; i < n; i++) {
    const e = { id: `e${i}`, type: 'DeliverableSubmitted', revision: i, data: { unit: `branch-${i}`, title: '整改方案' }, metadata: { actor: { sub: 'a' }, prevHash: prev } as Record<string, any> };
    e.metadata.hash = eventHash(prev, e);
    prev = e.metadata.hash;
    out.push(e);
  }
  return out;
}

describe('canonical JSON', () => {
  it('does not depend on key order, drops undefined members and keeps Chinese text as is', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x'], c: undefined, 标题: '整改' } })).toBe('{"a":{"d":[1,"x"],"标题":"整改"},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
});

describe('the hash chain', () => {
  it('verifies an untouched stream and reports its head hash', () => {
    const events = chain(5);
    expect(verifyChain(events)).toEqual({ ok: true, events: 5, headHash: events[4].metadata.hash });
  });

  it('names the first edited event', () => {
    const events = chain(5);
    (events[2].data as any).title = '改过的方案';
    expect(verifyChain(events).problem).toMatchObject({ kind: 'hash-mismatch', revision: 2, eventId: 'e2' });
  });

  it('names a deleted event by the gap it leaves', () => {
    const events = chain(5);
    events.splice(3, 1);
    expect(verifyChain(events).problem).toMatchObject({ kind: 'revision-gap', revision: 4, expected: 3 });
  });

  it('catches two swapped events even with their revisions renumbered', () => {
    const events = chain(5);
    [events[1], events[2]] = [events[2], events[1]];
    events[1].revision = 1;
    events[2].revision = 2;
    expect(verifyChain(events).problem).toMatchObject({ kind: 'prev-hash-mismatch', revision: 1, eventId: 'e2' });
  });

  it('catches an event whose hash was recomputed after editing (its successor no longer links)', () => {
    const events = chain(4);
    (events[1].data as any).title = 'forged';
    events[1].metadata.hash = eventHash(events[1].metadata.prevHash, events[1]);
    expect(verifyChain(events).problem).toMatchObject({ kind: 'prev-hash-mismatch', revision: 2 });
  });
});
