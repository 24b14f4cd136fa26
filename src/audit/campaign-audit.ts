import type { KeyObject } from 'node:crypto';
import type { EventStore } from '../event-store/event-store.port';
import { campaignStream, RecordedCampaignEvent } from '../campaigns/domain/campaign-events';
import { CampaignState, evolve } from '../campaigns/domain/campaign-state';
import { CampaignView, campaignView } from '../campaigns/domain/campaign-view';
import { AuditProgress, SILENT_PROGRESS } from './audit-check';
import { BundleManifest, BundleSignature, BundleWriter } from './domain/bundle';
import type { AuditFinding } from './domain/findings';
import { StreamAudit, StreamAuditor } from './domain/stream-audit';
import { readStreamPaged } from './stream-reader';

/** A campaign that is not in the store, or a point in its history that does not exist. */
export class AuditUsageError extends Error {
  constructor(
    readonly code: 'CAMPAIGN_NOT_FOUND' | 'INVALID_QUERY',
    message: string,
  ) {
    super(message);
    this.name = 'AuditUsageError';
  }
}

/** A campaign whose stream does not verify is not exported: a bundle vouches for what it holds. */
export class ExportRefusedError extends Error {
  constructor(readonly findings: AuditFinding[]) {
    super(`the campaign does not verify, so it was not exported:\n  ${findings.map((f) => f.message).join('\n  ')}`);
    this.name = 'ExportRefusedError';
  }
}

export interface CampaignReplay {
  state: CampaignState;
  last: RecordedCampaignEvent;
  /** The campaign as GET /api/campaigns/:id/state shows it, judged at `judgedAt`. */
  view: CampaignView;
  judgedAt: Date;
  /** The hash chain of the events replayed (a prefix of the stream when replaying to a point). */
  chain: Pick<StreamAudit, 'chainOk' | 'events' | 'headHash' | 'findings'>;
}

/**
 * The campaign as it was at a revision (judged at that event's time), at an instant (judged then)
 * or now, folded from the log alone, with the same rules as GET /api/campaigns/:id/state.
 */
export async function replayCampaign(
  store: EventStore,
  campaignId: string,
  until: { revision?: number; at?: Date; now: Date },
  progress: AuditProgress = SILENT_PROGRESS,
): Promise<CampaignReplay> {
  const stream = campaignStream(campaignId);
  const recorded = await store.streamRevision(stream);
  progress.start(`Replaying ${campaignId}`, until.revision !== undefined ? until.revision + 1 : recorded + 1);
  const auditor = new StreamAuditor(stream, { replay: false });
  const atMs = until.at?.getTime();
  let state: CampaignState | null = null;
  let last: RecordedCampaignEvent | undefined;
  let any = false;
  for await (const raw of readStreamPaged(store, stream)) {
    any = true;
    const e = raw as unknown as RecordedCampaignEvent;
    // A prefix of the history: the log's order is the truth, even if a clock ever stepped back.
    if (atMs !== undefined && Date.parse(e.metadata?.occurredAt) > atMs) break;
    if (until.revision !== undefined && e.revision > until.revision) break;
    auditor.push(raw);
    state = evolve(state, e);
    last = e;
    progress.advance();
  }
  progress.stop();
  if (!any) throw new AuditUsageError('CAMPAIGN_NOT_FOUND', `campaign ${campaignId} is not in the store`);
  if (!state || !last) {
    throw new AuditUsageError('CAMPAIGN_NOT_FOUND', `campaign ${campaignId} did not exist yet at ${until.at?.toISOString() ?? `revision ${until.revision}`}`);
  }
  if (until.revision !== undefined && last.revision !== until.revision) {
    throw new AuditUsageError('INVALID_QUERY', `campaign ${campaignId} has no revision ${until.revision}; its latest is ${last.revision}`);
  }
  const judgedAt = until.at ?? (until.revision !== undefined ? new Date(last.metadata.occurredAt) : until.now);
  const audit = auditor.finish();
  return {
    state,
    last,
    view: campaignView(state, judgedAt),
    judgedAt,
    chain: { chainOk: audit.chainOk, events: audit.events, headHash: audit.headHash, findings: audit.findings },
  };
}

/**
 * Writes a campaign's whole stream as an audit bundle (see domain/bundle.ts) to `sink`, verifying it
 * on the way: a stream whose chain, head or replay fails is refused (ExportRefusedError) and the
 * caller discards what was written.
 */
export async function exportCampaign(
  store: EventStore,
  campaignId: string,
  sink: (chunk: string) => void,
  options: { storeKind: string; exportedAt: Date; exportedBy: string; signingKey?: KeyObject; progress?: AuditProgress },
): Promise<{ manifest: BundleManifest; signature?: BundleSignature; audit: StreamAudit }> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const stream = campaignStream(campaignId);
  const recorded = await store.streamRevision(stream);
  progress.start(`Exporting ${campaignId}`, recorded + 1);
  const auditor = new StreamAuditor(stream, { recordedRevision: recorded === -1 ? undefined : recorded });
  let writer: BundleWriter | undefined;
  let events = 0;
  try {
    for await (const e of readStreamPaged(store, stream)) {
      auditor.push(e);
      // A history that does not open with CampaignLaunched gets no header; the auditor says why.
      if (events++ === 0 && e.type === 'CampaignLaunched') {
        const info = { campaign: campaignId, exportedAt: options.exportedAt.toISOString(), store: options.storeKind, exportedBy: options.exportedBy };
        writer = new BundleWriter(sink, BundleWriter.header(e, info));
      }
      writer?.add(e);
      progress.advance();
    }
  } finally {
    progress.stop();
  }
  const audit = auditor.finish();
  if (events === 0) throw new AuditUsageError('CAMPAIGN_NOT_FOUND', `campaign ${campaignId} is not in the store`);
  if (audit.findings.length || !writer) throw new ExportRefusedError(audit.findings);
  const { manifest, signature } = writer.finish({ signingKey: options.signingKey });
  return { manifest, signature, audit };
}
