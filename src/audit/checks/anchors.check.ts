import type { EventStore } from '../../event-store/event-store.port';
import type { AuditCheck, AuditCheckResult, AuditProgress, AuditScope, StreamHead } from '../audit-check';
import { AuditFinding, campaignOfStream, placeOf, short } from '../domain/findings';

/**
 * Heads anchored earlier (the `heads` of a saved `docket verify --json`, or a bundle's manifest) must
 * still be in the log, unchanged. This is what catches a stream cut back and re-chained, or its last
 * event deleted with the stream's recorded revision rewound: a hash chain alone cannot see either.
 */
export class AnchorsCheck implements AuditCheck {
  readonly name = 'anchors';
  readonly description = 'heads anchored by an earlier verify or export are still in the log, unchanged';

  constructor(private readonly anchors: StreamHead[]) {}

  async run(store: EventStore, progress: AuditProgress, scope?: AuditScope): Promise<AuditCheckResult> {
    const wanted = scope?.campaigns ? new Set(scope.campaigns) : undefined;
    const anchors = wanted ? this.anchors.filter((a) => wanted.has(campaignOfStream(a.stream) ?? '')) : this.anchors;
    progress.start('Checking anchored heads', anchors.length);
    const findings: AuditFinding[] = [];
    for (const a of anchors) {
      const [e] = await store.readStream(a.stream, { fromRevision: a.revision, maxCount: 1 });
      const base: AuditFinding = { check: this.name, kind: 'missing', stream: a.stream, revision: a.revision, eventId: a.eventId, message: '' };
      const campaign = campaignOfStream(a.stream);
      if (campaign !== undefined) base.campaign = campaign;
      if (!e || e.revision !== a.revision) {
        const now = await store.streamRevision(a.stream);
        findings.push({
          ...base,
          message: `${placeOf(a.stream)}: the anchored head, revision ${a.revision} (event ${a.eventId}, hash ${short(a.hash)}), is no longer in the log; the stream now ends at revision ${now}`,
          details: { anchored: a, recordedRevision: now },
        });
      } else if (e.id !== a.eventId || e.metadata?.hash !== a.hash) {
        findings.push({
          ...base,
          kind: 'rewritten',
          message: `${placeOf(a.stream)}: revision ${a.revision} was event ${a.eventId} with hash ${short(a.hash)} when anchored; it is now event ${e.id} with hash ${short(e.metadata?.hash)}`,
          details: { anchored: a, found: { eventId: e.id, hash: e.metadata?.hash } },
        });
      }
      progress.advance();
    }
    return { check: this.name, description: this.description, ok: findings.length === 0, checked: { anchors: anchors.length }, findings };
  }
}

/**
 * Heads from a file: a saved `docket verify --json` report (its `heads`) or an audit bundle (its manifest).
 * Throws with a reason when the text is neither.
 */
export function parseAnchors(text: string): StreamHead[] {
  const trimmed = text.trimEnd();
  let report: { heads?: unknown } | undefined;
  try {
    report = JSON.parse(trimmed) as { heads?: unknown };
  } catch {
    /* not one JSON document: perhaps a bundle */
  }
  if (report && Array.isArray(report.heads)) return report.heads.map(asHead);
  const lines = trimmed.split('\n');
  try {
    const trailer = JSON.parse(lines[lines.length - 1]) as { manifest?: { stream?: unknown; lastRevision?: unknown; headHash?: unknown } };
    const last = JSON.parse(lines[lines.length - 2]) as { id?: unknown; revision?: unknown };
    if (trailer.manifest) {
      return [asHead({ stream: trailer.manifest.stream, revision: trailer.manifest.lastRevision, hash: trailer.manifest.headHash, eventId: last.id })];
    }
  } catch {
    /* neither */
  }
  throw new Error('not a saved `docket verify --json` report (with heads) nor an audit bundle');
}

function asHead(raw: unknown): StreamHead {
  const h = raw as Record<string, unknown>;
  if (!h || typeof h.stream !== 'string' || !Number.isInteger(h.revision) || typeof h.hash !== 'string' || typeof h.eventId !== 'string') {
    throw new Error(`a head needs stream, revision, eventId and hash: ${JSON.stringify(raw)?.slice(0, 200)}`);
  }
  const head: StreamHead = { stream: h.stream, revision: h.revision as number, eventId: h.eventId, hash: h.hash };
  const campaign = campaignOfStream(h.stream);
  if (campaign !== undefined) head.campaign = campaign;
  return head;
}
