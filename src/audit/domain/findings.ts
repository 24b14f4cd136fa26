/**
 * What an audit found. Every finding names where (stream, campaign, revision, event id,
 * global position) as precisely as the evidence allows, the kind of damage, and a sentence
 * an auditor can read without knowing the code.
 */
export type FindingKind =
  /** An event's content no longer matches its own hash: it was changed after it was written. */
  | 'edited'
  /** Revisions are absent from a stream (a gap, or a head that the stream no longer reaches). */
  | 'missing'
  /** An event sits before one it should follow: two events exchanged places. */
  | 'swapped'
  /** An event does not follow its predecessor and nothing in the stream explains why. */
  | 'unlinked'
  /** A stream holds events beyond the revision the store recorded for it. */
  | 'unrecorded'
  /** A global position is absent from the log and no stream's gap explains it. */
  | 'position-gap'
  /** Events whose stream the store does not list. */
  | 'orphan'
  /** An anchored head (from an earlier verify or export) is no longer in the log as it was. */
  | 'rewritten'
  /** The events do not fold into a campaign, or break a rule every campaign history obeys. */
  | 'replay'
  /** The campaign asked about is not in the store. */
  | 'not-found'
  /** A bundle line that is not what the format allows (bad UTF-8 or JSON, not canonical, unknown fields). */
  | 'malformed'
  /** A bundle whose content does not match its manifest (digest, count, head hash, definition). */
  | 'mismatch'
  /** A bundle signature that is missing where a key was pinned, or does not verify. */
  | 'signature'
  /** A published evaluation tally that its own ballots do not recount to. */
  | 'tally'
  /** A read model that differs from the pure replay of the log. */
  | 'read-model';

export interface AuditFinding {
  /** The check that found it, e.g. 'streams', 'log', 'anchors'. */
  check: string;
  kind: FindingKind;
  stream?: string;
  campaign?: string;
  revision?: number;
  eventId?: string;
  position?: number;
  message: string;
  /** Extra evidence: expected and found hashes, the other event of a swap, candidate streams. */
  details?: Record<string, unknown>;
}

export const CAMPAIGN_STREAM_PREFIX = 'campaign-';

/** campaign-<id> → id; undefined for other streams. */
export function campaignOfStream(streamId: string): string | undefined {
  return streamId.startsWith(CAMPAIGN_STREAM_PREFIX) ? streamId.slice(CAMPAIGN_STREAM_PREFIX.length) : undefined;
}

/** "campaign X" for campaign streams, "stream S" for the rest: how findings name their place. */
export function placeOf(streamId: string): string {
  const campaign = campaignOfStream(streamId);
  return campaign !== undefined ? `campaign ${campaign}` : `stream ${streamId}`;
}

export const short = (hash: unknown) => (typeof hash === 'string' && hash.length > 16 ? `${hash.slice(0, 12)}…` : String(hash));
