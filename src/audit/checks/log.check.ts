import type { EventStore, RecordedEvent } from '../../event-store/event-store.port';
import type { AuditCheck, AuditCheckResult, AuditProgress, AuditScope } from '../audit-check';
import { AuditFinding, campaignOfStream, placeOf } from '../domain/findings';
import { readAllPaged } from '../stream-reader';

/** Most missing positions listed one by one; past this the log is damaged beyond itemising. */
const MAX_HOLES = 10_000;
const MAX_CANDIDATES = 10;

export interface LogCheckOptions {
  /**
   * The store numbers global positions 1, 2, 3, … without holes (SQLite, PostgreSQL do; KurrentDB's
   * commit positions do not). Then a missing position is a deleted event, whichever stream it was in.
   */
  densePositions: boolean;
}

/**
 * The whole log in global order. It catches what no single stream shows: events of streams the
 * store no longer lists, and, where positions are dense, an event deleted from the end of its
 * stream whose recorded revision was rewound to match (the stream looks whole; the log has a hole).
 */
export class LogCheck implements AuditCheck {
  readonly name = 'log';
  readonly description = 'the whole log in global order: every event belongs to a listed stream, and no global position is missing';

  constructor(private readonly options: LogCheckOptions) {}

  async run(store: EventStore, progress: AuditProgress, scope?: AuditScope): Promise<AuditCheckResult> {
    const result = (findings: AuditFinding[], checked: Record<string, number>, skipped?: string): AuditCheckResult => ({
      check: this.name,
      description: this.description,
      ok: findings.length === 0,
      checked,
      findings,
      ...(skipped ? { skipped } : {}),
    });
    if (scope?.campaigns) return result([], {}, 'needs the whole log; run without a campaign to include it');

    const listed = new Map((await store.listStreams()).map((s) => [s.streamId, s.revision]));
    progress.start('Reading the log', [...listed.values()].reduce((n, r) => n + r + 1, 0));
    const seen = new Map<string, { lastRevision: number; lastPosition: number }>();
    const orphans = new Map<string, { first: RecordedEvent; count: number }>();
    const holes: number[] = [];
    /** Position ranges (exclusive) inside which some stream misses revisions: holes there are that stream's gap. */
    const explained: [number, number][] = [];
    let previous = 0;
    let events = 0;
    let pending = 0;
    for await (const e of readAllPaged(store)) {
      events += 1;
      if (this.options.densePositions) {
        for (let p = previous + 1; p < e.position && holes.length < MAX_HOLES; p++) holes.push(p);
      }
      previous = e.position;
      if (!listed.has(e.streamId)) {
        const o = orphans.get(e.streamId);
        if (o) o.count += 1;
        else orphans.set(e.streamId, { first: e, count: 1 });
      }
      const s = seen.get(e.streamId);
      if (s) {
        if (e.revision > s.lastRevision + 1) explained.push([s.lastPosition, e.position]);
        s.lastRevision = Math.max(s.lastRevision, e.revision);
        s.lastPosition = e.position;
      } else {
        if (e.revision > 0) explained.push([0, e.position]);
        seen.set(e.streamId, { lastRevision: e.revision, lastPosition: e.position });
      }
      if (++pending === 1000) {
        progress.advance(pending);
        pending = 0;
      }
    }
    progress.advance(pending);
    for (const [streamId, recorded] of listed) {
      const s = seen.get(streamId);
      if (recorded > (s?.lastRevision ?? -1)) explained.push([s?.lastPosition ?? 0, Number.POSITIVE_INFINITY]);
    }

    const findings: AuditFinding[] = [];
    for (const [streamId, o] of orphans) {
      const f: AuditFinding = {
        check: this.name,
        kind: 'orphan',
        stream: streamId,
        revision: o.first.revision,
        eventId: o.first.id,
        position: o.first.position,
        message: `${placeOf(streamId)} has ${o.count} event(s) in the log, but the store does not list the stream: its record was deleted`,
      };
      const campaign = campaignOfStream(streamId);
      if (campaign !== undefined) f.campaign = campaign;
      findings.push(f);
    }
    const unexplained = holes.filter((p) => !explained.some(([a, b]) => p > a && p < b));
    for (const [from, to] of runs(unexplained)) {
      const candidates = [...seen]
        .filter(([, s]) => s.lastPosition < from)
        .sort((a, b) => b[1].lastPosition - a[1].lastPosition)
        .map(([streamId, s]) => ({ stream: streamId, campaign: campaignOfStream(streamId), lastRevision: s.lastRevision, lastPosition: s.lastPosition }));
      const named = candidates.slice(0, MAX_CANDIDATES).map((c) => placeOf(c.stream));
      findings.push({
        check: this.name,
        kind: 'position-gap',
        position: from,
        message:
          `${from === to ? `position ${from} is` : `positions ${from}–${to} are`} missing from the log: ` +
          `event(s) were deleted, and as no stream shows a gap there, each was the last event of its stream and the ` +
          `stream's recorded revision was rewound to hide it (or a whole stream was deleted). ` +
          (named.length
            ? `Streams that could have lost their last event, nearest first: ${named.join(', ')}${candidates.length > named.length ? ` and ${candidates.length - named.length} more` : ''}. Verify against anchored heads (--heads) to name it exactly`
            : 'No stream ended before it: a whole stream was deleted'),
        details: { from, to, candidates: candidates.slice(0, MAX_CANDIDATES), candidateCount: candidates.length },
      });
    }
    if (holes.length >= MAX_HOLES) {
      findings.push({ check: this.name, kind: 'position-gap', message: `more than ${MAX_HOLES} positions are missing from the log; only the first ${MAX_HOLES} were examined` });
    }
    return result(findings, { streams: listed.size, events, lastPosition: previous });
  }
}

/** [1,2,3,7,9,10] → [[1,3],[7,7],[9,10]] */
function runs(sorted: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && p === last[1] + 1) last[1] = p;
    else out.push([p, p]);
  }
  return out;
}
