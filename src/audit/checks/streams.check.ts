import type { EventStore } from '../../event-store/event-store.port';
import { campaignStream } from '../../campaigns/domain/campaign-events';
import type { AuditCheck, AuditCheckResult, AuditProgress, AuditScope, StreamHead } from '../audit-check';
import { AuditFinding, placeOf } from '../domain/findings';
import { StreamAudit, StreamAuditor } from '../domain/stream-audit';
import { readStreamPaged } from '../stream-reader';

/** Audits one stream of the store: chain, recorded head, replay. */
export async function auditStoredStream(
  store: EventStore,
  streamId: string,
  recordedRevision: number | undefined,
  onEvents: (n: number) => void = () => undefined,
): Promise<StreamAudit> {
  const auditor = new StreamAuditor(streamId, { recordedRevision });
  let pending = 0;
  for await (const e of readStreamPaged(store, streamId)) {
    auditor.push(e);
    if (++pending === 500) {
      onEvents(pending);
      pending = 0;
    }
  }
  onEvents(pending);
  return auditor.finish();
}

export function headOf(audit: StreamAudit): StreamHead | undefined {
  if (!audit.chainOk || audit.findings.length > 0 || audit.events === 0 || audit.lastEventId === undefined) return undefined;
  const head: StreamHead = { stream: audit.stream, revision: audit.lastRevision, eventId: audit.lastEventId, hash: audit.headHash };
  if (audit.campaign !== undefined) head.campaign = audit.campaign;
  return head;
}

/**
 * Every stream (or the scoped campaigns' streams): the hash chain names the first edited,
 * missing or swapped event; the head the store recorded names events deleted from the end;
 * campaign streams are replayed through the domain's evolve.
 */
export class StreamsCheck implements AuditCheck {
  readonly name = 'streams';
  readonly description = 'every stream: hash chain, recorded head, and for campaigns a replay through the domain';

  async run(store: EventStore, progress: AuditProgress, scope?: AuditScope): Promise<AuditCheckResult> {
    const findings: AuditFinding[] = [];
    const targets: { streamId: string; revision: number | undefined }[] = [];
    if (scope?.campaigns) {
      for (const id of scope.campaigns) {
        const streamId = campaignStream(id);
        const revision = await store.streamRevision(streamId);
        if (revision === -1) {
          const [any] = await store.readStream(streamId, { maxCount: 1 });
          if (!any) {
            findings.push({ check: this.name, kind: 'not-found', stream: streamId, campaign: id, message: `campaign ${id} is not in the store` });
            continue;
          }
          findings.push({
            check: this.name,
            kind: 'orphan',
            stream: streamId,
            campaign: id,
            message: `${placeOf(streamId)} has events, but the store does not list the stream: its record was deleted`,
          });
        }
        targets.push({ streamId, revision: revision === -1 ? undefined : revision });
      }
    } else {
      for (const s of await store.listStreams()) targets.push({ streamId: s.streamId, revision: s.revision });
    }
    progress.start('Verifying streams', targets.reduce((n, t) => n + (t.revision ?? 0) + 1, 0));
    const heads: StreamHead[] = [];
    let events = 0;
    for (const t of targets) {
      const audit = await auditStoredStream(store, t.streamId, t.revision, (n) => progress.advance(n));
      events += audit.events;
      for (const f of audit.findings) findings.push({ ...f, check: this.name });
      const head = headOf(audit);
      if (head) heads.push(head);
    }
    return {
      check: this.name,
      description: this.description,
      ok: findings.length === 0,
      checked: { streams: targets.length, events },
      findings,
      heads,
    };
  }
}
