import { createHash } from 'node:crypto';
import {
  ANY,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  type AppendStreamState,
  type EventData as KurrentEventData,
  type JSONType,
  type Position as KurrentPosition,
  type ReadPosition,
} from '@kurrent/kurrentdb-client';
import { EventData, ExpectedRevision, RecordedEvent, StoreUnavailableError } from '../event-store.port';

/**
 * The pure half of the KurrentDB adapter: every translation between the port's shapes and the
 * client's, kept apart from I/O so it is tested without a server.
 */

// ---------------------------------------------------------------------------------------------
// Expected revisions and revisions

/** Port → Kurrent. -1 is our "no stream yet"; Kurrent spells it NO_STREAM (a bigint must be ≥ 0). */
export function toStreamState(expected: ExpectedRevision | undefined): AppendStreamState {
  if (expected === undefined || expected === 'any') return ANY;
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  if (!Number.isSafeInteger(expected) || expected < -1) {
    throw new RangeError(`expected revision must be an integer ≥ -1, 'any', 'no_stream' or 'stream_exists'; got ${String(expected)}`);
  }
  return expected === -1 ? NO_STREAM : BigInt(expected);
}

/** Kurrent revisions are bigint (u64); ours are numbers, exact up to 2^53. */
export function revisionFromKurrent(revision: bigint): number {
  return toSafeNumber(revision, 'revision');
}

/**
 * A stream's current state as Kurrent reports it in WrongExpectedVersion: NO_STREAM, or a revision.
 * Deleted (-5) and tombstoned (-6) streams, which Docket never creates, count as absent.
 */
export function actualRevisionFromKurrent(state: bigint | string | undefined): number {
  if (typeof state !== 'bigint' || state < 0n) return -1;
  return toSafeNumber(state, 'revision');
}

// ---------------------------------------------------------------------------------------------
// Positions

/**
 * Our global position is Kurrent's commit position. Every event appended through gRPC is its own
 * commit record ("implicit transaction": each prepare carries IsCommitted), so its commit position
 * equals its prepare position, is unique per event, and grows in commit order, which is all the
 * port asks. (Events of the retired TCP client's explicit transactions share one commit position;
 * Docket never writes those.) It is a byte offset into the transaction log, so Number is exact
 * below 2^53 bytes (8 PiB of log).
 */
export function positionFromKurrent(position: KurrentPosition | undefined): number | undefined {
  return position ? toSafeNumber(position.commit, 'commit position') : undefined;
}

/** Where a forward $all read must start to see events after ours; it is inclusive, so the caller drops `after` itself. */
export function readPositionAfter(after: number): ReadPosition {
  if (!Number.isSafeInteger(after) || after <= 0) return START;
  return { commit: BigInt(after), prepare: BigInt(after) };
}

function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`KurrentDB ${what} ${value} does not fit in a JavaScript number`);
  }
  return Number(value);
}

// ---------------------------------------------------------------------------------------------
// Stream names

/**
 * Stream ids map 1:1 by default. A namespace (a test run, or several Docket installations on one
 * cluster) is prepended on the server and stripped on the way back.
 */
export const streamName = (namespace: string, streamId: string): string => namespace + streamId;

export function streamIdFromName(namespace: string, name: string): string | undefined {
  return name.startsWith(namespace) ? name.slice(namespace.length) : undefined;
}

/**
 * KurrentDB's own records ($metadata, $> links, $statsCollected, projection state…) live in streams
 * or carry types starting with `$`. They are not Docket events.
 */
export const isSystemEvent = (e: { streamId: string; type: string }): boolean =>
  e.type.startsWith('$') || e.streamId.startsWith('$');

// ---------------------------------------------------------------------------------------------
// Event ids

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';
/** The namespace of Docket's name-based event ids (RFC 9562 §5.5). */
const DOCKET_ID_NAMESPACE = Buffer.from('4c0d1f52a7e94f0e9a5b2b0c6d3e8f17', 'hex');

/**
 * Kurrent event ids are UUIDs, returned in lower case. Ours are UUIDs too in practice, but the port
 * takes any string: anything that would not come back unchanged gets a name-based (v5) UUID, the
 * same for the same id, and the original travels in the metadata (see metadataToKurrent).
 */
export function kurrentEventId(id: string): { kurrentId: string; original?: string } {
  if (UUID.test(id) && id !== NIL_UUID) return { kurrentId: id };
  const hash = createHash('sha1').update(DOCKET_ID_NAMESPACE).update(id, 'utf8').digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return {
    kurrentId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    original: id,
  };
}

// ---------------------------------------------------------------------------------------------
// Metadata

/**
 * Kurrent's conventions name correlation and causation `$correlationId` and `$causationId` (its
 * $by_correlation_id projection and UI read them). Keys starting with `$` are the server's, so a
 * key of ours that starts with `$` is stored with one more `$` and unescaped on the way back:
 * reads give back exactly the keys that were written.
 */
const TO_KURRENT: Record<string, string> = { correlationId: '$correlationId', causationId: '$causationId' };
const FROM_KURRENT: Record<string, string> = { $correlationId: 'correlationId', $causationId: 'causationId' };
/** Where a non-UUID event id of ours is kept (see kurrentEventId). */
export const ORIGINAL_ID_KEY = '$docketEventId';

export function metadataToKurrent(
  metadata: Record<string, unknown> | undefined,
  originalId?: string,
): Record<string, unknown> | undefined {
  if (metadata === undefined && originalId === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    out[TO_KURRENT[key] ?? (key.startsWith('$') ? `$${key}` : key)] = value;
  }
  if (originalId !== undefined) out[ORIGINAL_ID_KEY] = originalId;
  return out;
}

export function metadataFromKurrent(raw: unknown): { metadata: Record<string, unknown>; originalId?: string } {
  const metadata: Record<string, unknown> = {};
  let originalId: string | undefined;
  // Events written by other tools may carry no metadata, bytes, or a JSON scalar: none is ours.
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) return { metadata };
  for (const [key, value] of Object.entries(raw)) {
    if (key === ORIGINAL_ID_KEY && typeof value === 'string') originalId = value;
    else if (FROM_KURRENT[key]) metadata[FROM_KURRENT[key]] = value;
    else if (key.startsWith('$$')) metadata[key.slice(1)] = value;
    else metadata[key] = value;
  }
  return { metadata, originalId };
}

// ---------------------------------------------------------------------------------------------
// Events

/** Port → Kurrent. Data is JSON (any JSON value; undefined is stored as null, as the other adapters do). */
export function eventToKurrent(event: EventData): KurrentEventData {
  const { kurrentId, original } = kurrentEventId(event.id);
  return {
    id: kurrentId,
    contentType: 'application/json',
    type: event.type,
    // The client JSON.stringify()s whatever it is given; its JSONType is narrower than JSON.
    data: (event.data === undefined ? null : event.data) as JSONType,
    metadata: metadataToKurrent(event.metadata, original) as JSONType | undefined,
  };
}

/** The parts of a Kurrent recorded event the adapter reads (the client's RecordedEvent, loosely). */
export interface KurrentRecordedEvent {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata?: unknown;
  created: Date;
  position?: KurrentPosition;
}

/** Kurrent → port; undefined for events outside the namespace. */
export function eventFromKurrent(e: KurrentRecordedEvent, namespace: string): RecordedEvent | undefined {
  const streamId = streamIdFromName(namespace, e.streamId);
  if (streamId === undefined) return undefined;
  const { metadata, originalId } = metadataFromKurrent(e.metadata);
  return {
    id: originalId ?? e.id,
    streamId,
    type: e.type,
    revision: revisionFromKurrent(e.revision),
    // Stream reads carry positions on servers from 22.6 on; $all reads always do.
    position: positionFromKurrent(e.position) ?? 0,
    data: e.data,
    metadata,
    recordedAt: e.created.toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// Errors

/** The client's CommandError `type`s (ErrorType) that the adapter reacts to. */
const WRONG_EXPECTED_VERSION = 'wrong-expected-version';
const NOT_FOUND_TYPES = new Set(['stream-not-found', 'stream-deleted', 'stream-tombstoned']);
/** Cannot reach the leader now: the command may be retried later. */
const UNAVAILABLE_TYPES = new Set(['unavailable', 'deadline-exceeded', 'timeout', 'not-leader', 'cancelled']);
/** gRPC status codes the client sometimes hands over unconverted (a failed append's channel). */
const UNAVAILABLE_GRPC_CODES = new Set([1 /* CANCELLED */, 4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);
const UNAVAILABLE_MESSAGE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|No connection established|Failed to discover|connection (?:refused|reset|closed)/i;

const typeOf = (error: unknown): unknown => (error as { type?: unknown } | null)?.type;

export interface WrongExpectedVersionLike {
  type: typeof WRONG_EXPECTED_VERSION;
  streamName?: string;
  actualState?: bigint | string;
}

export const isWrongExpectedVersion = (error: unknown): error is WrongExpectedVersionLike =>
  typeOf(error) === WRONG_EXPECTED_VERSION;

/** Reading a stream that does not exist (or was deleted) is an empty stream to the port. */
export const isStreamNotFound = (error: unknown): boolean => NOT_FOUND_TYPES.has(typeOf(error) as string);

export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (UNAVAILABLE_TYPES.has(typeOf(error) as string)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && UNAVAILABLE_GRPC_CODES.has(code)) return true;
  return error instanceof Error && UNAVAILABLE_MESSAGE.test(error.message);
}

/** Anything that means "the store cannot be used right now" becomes StoreUnavailableError; the rest passes through. */
export function toPortError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !isUnavailable(error)) return error;
  const message = error instanceof Error && error.message ? error.message : String(typeOf(error) ?? error);
  return new StoreUnavailableError(`KurrentDB event store: ${message}`, error);
}
