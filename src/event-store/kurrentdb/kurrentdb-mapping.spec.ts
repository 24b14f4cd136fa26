import { randomUUID } from 'node:crypto';
import {
  ANY,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  UnavailableError,
  WrongExpectedVersionError,
  type JSONEventData,
} from '@kurrent/kurrentdb-client';
import { StoreUnavailableError } from '../event-store.port';
import {
  actualRevisionFromKurrent,
  eventFromKurrent,
  eventToKurrent,
  isStreamNotFound,
  isSystemEvent,
  isWrongExpectedVersion,
  kurrentEventId,
  KurrentRecordedEvent,
  metadataFromKurrent,
  metadataToKurrent,
  ORIGINAL_ID_KEY,
  positionFromKurrent,
  readPositionAfter,
  revisionFromKurrent,
  streamIdFromName,
  streamName,
  toPortError,
  toStreamState,
} from './kurrentdb-mapping';

const recorded = (over: Partial<KurrentRecordedEvent> = {}): KurrentRecordedEvent => ({
  streamId: 'campaign-1',
  id: randomUUID(),
  revision: 3n,
  type: 'StageEntered',
  data: { stage: 'review' },
  metadata: undefined,
  created: new Date('2025-03-01T09:00:00.123Z'),
  position: { commit: 4096n, prepare: 4096n },
  ...over,
});

describe('KurrentDB mapping', () => {
  describe('expected revisions', () => {
    it('maps any, no_stream and stream_exists to the client constants, and any is the default', () => {
      expect(toStreamState('any')).toBe(ANY);
      expect(toStreamState(undefined)).toBe(ANY);
      expect(toStreamState('no_stream')).toBe(NO_STREAM);
      expect(toStreamState('stream_exists')).toBe(STREAM_EXISTS);
    });

    it('maps an exact revision to a bigint, and -1 to no stream', () => {
      expect(toStreamState(0)).toBe(0n);
      expect(toStreamState(41)).toBe(41n);
      expect(toStreamState(Number.MAX_SAFE_INTEGER)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
      expect(toStreamState(-1)).toBe(NO_STREAM);
    });

    it('refuses revisions that name no state', () => {
      for (const bad of [-2, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => toStreamState(bad)).toThrow(RangeError);
    });

    it('turns bigint revisions into numbers, refusing what a number cannot hold exactly', () => {
      expect(revisionFromKurrent(0n)).toBe(0);
      expect(revisionFromKurrent(123456789n)).toBe(123456789);
      expect(() => revisionFromKurrent(2n ** 53n)).toThrow(RangeError);
    });

    it('reads the actual state of a refused append: no stream is -1, deleted or tombstoned count as absent', () => {
      expect(actualRevisionFromKurrent(NO_STREAM)).toBe(-1);
      expect(actualRevisionFromKurrent(undefined)).toBe(-1);
      expect(actualRevisionFromKurrent(7n)).toBe(7);
      expect(actualRevisionFromKurrent(-5n)).toBe(-1);
      expect(actualRevisionFromKurrent(-6n)).toBe(-1);
    });
  });

  describe('positions', () => {
    it('uses the commit position as the global position', () => {
      expect(positionFromKurrent({ commit: 4096n, prepare: 4096n })).toBe(4096);
      expect(positionFromKurrent({ commit: 9000n, prepare: 8800n })).toBe(9000);
      expect(positionFromKurrent(undefined)).toBeUndefined();
    });

    it('refuses a commit position beyond 2^53 rather than rounding it', () => {
      expect(positionFromKurrent({ commit: BigInt(Number.MAX_SAFE_INTEGER), prepare: 0n })).toBe(Number.MAX_SAFE_INTEGER);
      expect(() => positionFromKurrent({ commit: 2n ** 53n + 1n, prepare: 0n })).toThrow(RangeError);
    });

    it('reads $all from the start for position 0, and from the event at a later position (the caller drops it)', () => {
      expect(readPositionAfter(0)).toBe(START);
      expect(readPositionAfter(-3)).toBe(START);
      expect(readPositionAfter(1234)).toEqual({ commit: 1234n, prepare: 1234n });
    });
  });

  describe('stream names', () => {
    it('maps stream ids 1:1 without a namespace', () => {
      expect(streamName('', 'campaign-42')).toBe('campaign-42');
      expect(streamIdFromName('', 'campaign-42')).toBe('campaign-42');
    });

    it('prefixes and strips a namespace, and disowns streams outside it', () => {
      expect(streamName('run-7:', 'campaign-42')).toBe('run-7:campaign-42');
      expect(streamIdFromName('run-7:', 'run-7:campaign-42')).toBe('campaign-42');
      expect(streamIdFromName('run-7:', 'run-8:campaign-42')).toBeUndefined();
    });

    it('skips system events: types or streams starting with $', () => {
      expect(isSystemEvent({ streamId: 'campaign-1', type: 'StageEntered' })).toBe(false);
      expect(isSystemEvent({ streamId: '$$campaign-1', type: '$metadata' })).toBe(true);
      expect(isSystemEvent({ streamId: '$ce-campaign', type: '$>' })).toBe(true);
      expect(isSystemEvent({ streamId: '$stats-127.0.0.1:2113', type: '$statsCollected' })).toBe(true);
      expect(isSystemEvent({ streamId: 'campaign-1', type: '$metadata' })).toBe(true);
    });
  });

  describe('metadata', () => {
    it('writes correlationId and causationId as $correlationId and $causationId, in place', () => {
      const stored = metadataToKurrent({ actor: 'a', correlationId: 'c-1', causationId: 'e-9', occurredAt: 't' });
      expect(stored).toEqual({ actor: 'a', $correlationId: 'c-1', $causationId: 'e-9', occurredAt: 't' });
      expect(Object.keys(stored!)).toEqual(['actor', '$correlationId', '$causationId', 'occurredAt']);
    });

    it('reads back exactly what was written, key order included', () => {
      const metadata = { correlationId: 'c-1', occurredAt: '2025-03-01T09:00:00.000Z', causationId: 'e-9', actor: { id: 7 } };
      const back = metadataFromKurrent(JSON.parse(JSON.stringify(metadataToKurrent(metadata))));
      expect(back).toEqual({ metadata, originalId: undefined });
      expect(Object.keys(back.metadata)).toEqual(Object.keys(metadata));
    });

    it('escapes keys of ours that start with $, so they never pass for Kurrent system metadata', () => {
      const metadata = { $correlationId: 'mine', correlationId: 'c', $tag: 1, $$deep: 2 };
      const stored = metadataToKurrent(metadata)!;
      expect(stored).toEqual({ $$correlationId: 'mine', $correlationId: 'c', $$tag: 1, $$$deep: 2 });
      expect(metadataFromKurrent(stored).metadata).toEqual(metadata);
    });

    it('stores no metadata when there is none, and reads none as an empty object', () => {
      expect(metadataToKurrent(undefined)).toBeUndefined();
      expect(metadataFromKurrent(undefined)).toEqual({ metadata: {} });
      expect(metadataFromKurrent(new Uint8Array([1, 2]))).toEqual({ metadata: {} });
      expect(metadataFromKurrent('text')).toEqual({ metadata: {} });
      expect(metadataFromKurrent([1])).toEqual({ metadata: {} });
    });

    it('keeps system keys other writers set', () => {
      expect(metadataFromKurrent({ $causedBy: 'x', plain: 1 }).metadata).toEqual({ $causedBy: 'x', plain: 1 });
    });
  });

  describe('event ids', () => {
    it('uses a lower-case UUID as it is', () => {
      const id = randomUUID();
      expect(kurrentEventId(id)).toEqual({ kurrentId: id });
    });

    it('gives any other id a stable name-based UUID and keeps the original', () => {
      for (const id of ['reminder:campaign-1:review:unit-3:2', 'E-0', randomUUID().toUpperCase(), '00000000-0000-0000-0000-000000000000']) {
        const mapped = kurrentEventId(id);
        expect(mapped.original).toBe(id);
        expect(mapped.kurrentId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(kurrentEventId(id)).toEqual(mapped);
      }
      expect(kurrentEventId('a').kurrentId).not.toBe(kurrentEventId('b').kurrentId);
    });
  });

  describe('events', () => {
    it('appends JSON with the event id, type, data and mapped metadata', () => {
      const id = randomUUID();
      const out = eventToKurrent({ id, type: 'StageEntered', data: { z: 1, a: 2 }, metadata: { correlationId: 'c' } }) as JSONEventData;
      expect(out).toEqual({
        id,
        contentType: 'application/json',
        type: 'StageEntered',
        data: { z: 1, a: 2 },
        metadata: { $correlationId: 'c' },
      });
    });

    it('stores undefined data as null, and any JSON value as it is', () => {
      expect((eventToKurrent({ id: randomUUID(), type: 'T', data: undefined }) as JSONEventData).data).toBeNull();
      for (const data of [null, 0, -1.5, 'text', true, [1, 'two']]) {
        expect((eventToKurrent({ id: randomUUID(), type: 'T', data }) as JSONEventData).data).toEqual(data);
      }
    });

    it('carries a non-UUID id in the metadata and gives it back on read', () => {
      const out = eventToKurrent({ id: 'e-1', type: 'T', data: {} }) as JSONEventData;
      expect(out.metadata).toEqual({ [ORIGINAL_ID_KEY]: 'e-1' });
      const back = eventFromKurrent(recorded({ id: out.id, metadata: out.metadata }), '');
      expect(back).toMatchObject({ id: 'e-1', metadata: {} });
    });

    it('reads a recorded event into the port shape', () => {
      const e = recorded({ metadata: { $correlationId: 'c-1', actor: 'clerk' } });
      expect(eventFromKurrent(e, '')).toEqual({
        id: e.id,
        streamId: 'campaign-1',
        type: 'StageEntered',
        revision: 3,
        position: 4096,
        data: { stage: 'review' },
        metadata: { correlationId: 'c-1', actor: 'clerk' },
        recordedAt: '2025-03-01T09:00:00.123Z',
      });
    });

    it('strips the namespace from stream ids and disowns events outside it', () => {
      expect(eventFromKurrent(recorded({ streamId: 'ns:campaign-1' }), 'ns:')?.streamId).toBe('campaign-1');
      expect(eventFromKurrent(recorded({ streamId: 'other:campaign-1' }), 'ns:')).toBeUndefined();
    });

    it('reads position 0 for a stream read from a server that sends no positions', () => {
      expect(eventFromKurrent(recorded({ position: undefined }), '')?.position).toBe(0);
    });
  });

  describe('errors', () => {
    const wrongVersion = (current: bigint | typeof NO_STREAM) =>
      new WrongExpectedVersionError(undefined, { streamName: 'campaign-1', expected: 2n, current });

    it('recognises WrongExpectedVersion and reads the actual revision from it', () => {
      const error = wrongVersion(5n);
      expect(isWrongExpectedVersion(error)).toBe(true);
      expect(isWrongExpectedVersion(error) && actualRevisionFromKurrent(error.actualState)).toBe(5);
      const missing = wrongVersion(NO_STREAM);
      expect(isWrongExpectedVersion(missing) && actualRevisionFromKurrent(missing.actualState)).toBe(-1);
      expect(isWrongExpectedVersion(new Error('wrong-expected-version'))).toBe(false);
    });

    it('recognises a WrongExpectedVersion-like object by its type', () => {
      expect(isWrongExpectedVersion({ type: 'wrong-expected-version', actualState: 3n })).toBe(true);
    });

    it('turns the client UnavailableError into StoreUnavailableError', () => {
      const cause = new UnavailableError(undefined, 'UnavailableError');
      const mapped = toPortError(cause);
      expect(mapped).toBeInstanceOf(StoreUnavailableError);
      expect(mapped).toMatchObject({ code: 'STORE_UNAVAILABLE', cause });
    });

    it('turns deadline, timeout, leader changes and raw gRPC UNAVAILABLE errors into StoreUnavailableError', () => {
      const raw = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2113'), { code: 14 });
      for (const error of [
        { type: 'deadline-exceeded', message: 'Deadline exceeded' },
        { type: 'timeout' },
        { type: 'not-leader' },
        raw,
        Object.assign(new Error('deadline'), { code: 4 }),
        new Error('connect ECONNREFUSED 127.0.0.1:2113'),
      ]) {
        expect(toPortError(error)).toBeInstanceOf(StoreUnavailableError);
      }
    });

    it('passes other errors through unchanged', () => {
      for (const error of [wrongVersion(1n), { type: 'access-denied' }, new TypeError('bug'), Object.assign(new Error('x'), { code: 3 })]) {
        expect(toPortError(error)).toBe(error);
      }
      const already = new StoreUnavailableError('down');
      expect(toPortError(already)).toBe(already);
    });

    it('reads a missing or deleted stream as not found', () => {
      expect(isStreamNotFound({ type: 'stream-not-found' })).toBe(true);
      expect(isStreamNotFound({ type: 'stream-deleted' })).toBe(true);
      expect(isStreamNotFound({ type: 'unavailable' })).toBe(false);
      expect(isStreamNotFound(undefined)).toBe(false);
    });
  });
});
