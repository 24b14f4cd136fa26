import type { RecordedCampaignEvent } from '../../campaigns/domain/campaign-events';
import { CampaignState, evolve } from '../../campaigns/domain/campaign-state';
import { ChainedEvent, eventHash, GENESIS_HASH } from './hash-chain';
import { AuditFinding, campaignOfStream, placeOf, short } from './findings';

export interface AuditedEvent extends ChainedEvent {
  /** Global position, when the events come from a store (absent in a bundle read back). */
  position?: number;
}

export interface StreamAuditOptions {
  /** The check named in findings. Default 'streams'. */
  check?: string;
  /** The revision the store records for the stream (its streams table); enables the head check. */
  recordedRevision?: number;
  /** Fold campaign streams with the domain's evolve and check the rules every campaign history obeys. Default true. */
  replay?: boolean;
}

export interface StreamAudit {
  stream: string;
  campaign?: string;
  /** Events read. */
  events: number;
  /** Revision of the last event read; -1 when none. */
  lastRevision: number;
  lastEventId?: string;
  lastPosition?: number;
  /** Hash of the last event, when the chain up to it is intact (else of the last good event). */
  headHash: string;
  chainOk: boolean;
  /** 'ok', 'failed', 'skipped' (the chain is broken, so a replay would fold altered events) or 'not-applicable'. */
  replay: 'ok' | 'failed' | 'skipped' | 'not-applicable';
  /** The folded campaign, when the chain and the replay are intact. */
  state?: CampaignState;
  findings: AuditFinding[];
}

/** An unlinked event, kept while the rest of the stream is searched for the predecessor it names. */
interface PendingLink {
  finding: AuditFinding;
  /** The hash the unlinked event names as its predecessor. */
  wanted: string;
}

/**
 * Checks one stream, event by event in revision order, with constant memory (the folded
 * campaign aside): the hash chain (naming the first bad event and why), the head the
 * store recorded, and for campaign streams a replay through the domain's own evolve.
 * Pure: the caller reads the events (from a store or a bundle) and pushes them in.
 */
export class StreamAuditor {
  private readonly check: string;
  private readonly campaign?: string;
  private readonly replayOn: boolean;
  private expected = 0;
  private prev = GENESIS_HASH;
  private count = 0;
  private lastRevision = -1;
  private lastEventId?: string;
  private lastPosition?: number;
  private chainProblem?: AuditFinding;
  private pending?: PendingLink;
  private unrecorded?: AuditFinding;
  private state: CampaignState | null = null;
  private replayProblem?: AuditFinding;

  constructor(
    readonly stream: string,
    private readonly options: StreamAuditOptions = {},
  ) {
    this.check = options.check ?? 'streams';
    this.campaign = campaignOfStream(stream);
    this.replayOn = this.campaign !== undefined && options.replay !== false;
  }

  push(e: AuditedEvent): void {
    this.count += 1;
    this.lastRevision = e.revision;
    this.lastEventId = e.id;
    this.lastPosition = e.position;
    const recorded = this.options.recordedRevision;
    if (recorded !== undefined && e.revision > recorded && !this.unrecorded) {
      this.unrecorded = this.finding('unrecorded', e, `${this.place} holds event ${e.id} at revision ${e.revision}, beyond revision ${recorded} that the store records for it: it was added behind the store's back`, {
        recordedRevision: recorded,
      });
    }
    if (this.chainProblem) {
      this.lookForSwap(e);
      return;
    }
    const problem = this.link(e);
    if (problem) {
      this.chainProblem = problem;
      return;
    }
    if (this.replayOn && !this.replayProblem) this.fold(e);
  }

  finish(): StreamAudit {
    const findings: AuditFinding[] = [];
    if (this.chainProblem) findings.push(this.chainProblem);
    const head = this.headFinding();
    if (head) findings.push(head);
    if (this.unrecorded) findings.push(this.unrecorded);
    let replay: StreamAudit['replay'] = 'not-applicable';
    if (this.replayOn) {
      if (this.chainProblem) replay = 'skipped';
      else {
        if (!this.replayProblem && this.count > 0 && this.state?.revision !== this.lastRevision) {
          this.replayProblem = {
            check: this.check,
            kind: 'replay',
            stream: this.stream,
            campaign: this.campaign,
            revision: this.lastRevision,
            eventId: this.lastEventId,
            message: `${this.place}: the replay did not reach the last event (revision ${this.lastRevision})`,
          };
        }
        replay = this.replayProblem ? 'failed' : this.count > 0 ? 'ok' : 'not-applicable';
        if (this.replayProblem) findings.push(this.replayProblem);
      }
    }
    const result: StreamAudit = {
      stream: this.stream,
      events: this.count,
      lastRevision: this.lastRevision,
      headHash: this.prev,
      chainOk: !this.chainProblem,
      replay,
      findings,
    };
    if (this.campaign !== undefined) result.campaign = this.campaign;
    if (this.lastEventId !== undefined) result.lastEventId = this.lastEventId;
    if (this.lastPosition !== undefined) result.lastPosition = this.lastPosition;
    if (replay === 'ok' && this.state) result.state = this.state;
    return result;
  }

  private get place(): string {
    return placeOf(this.stream);
  }

  private finding(kind: AuditFinding['kind'], e: AuditedEvent | undefined, message: string, details?: Record<string, unknown>): AuditFinding {
    const f: AuditFinding = { check: this.check, kind, stream: this.stream, message };
    if (this.campaign !== undefined) f.campaign = this.campaign;
    if (e) {
      f.revision = e.revision;
      f.eventId = e.id;
      if (e.position !== undefined) f.position = e.position;
    }
    if (details) f.details = details;
    return f;
  }

  /** The chain rules for the next event; a finding for the first one it breaks. */
  private link(e: AuditedEvent): AuditFinding | undefined {
    const at = `${this.place}, revision ${e.revision} (event ${e.id})`;
    if (e.revision !== this.expected) {
      if (e.revision > this.expected) {
        const range = e.revision - 1 === this.expected ? `revision ${this.expected} is` : `revisions ${this.expected}–${e.revision - 1} are`;
        const f = this.finding('missing', e, `${this.place}: ${range} missing; the next event present is ${e.id} at revision ${e.revision}`, {
          missingFrom: this.expected,
          missingTo: e.revision - 1,
          /** What the last missing event's hash was, as its successor recorded it. */
          missingHeadHash: e.metadata?.prevHash,
        });
        f.revision = this.expected;
        f.details!.nextRevision = e.revision;
        f.details!.nextEventId = e.id;
        delete f.eventId;
        delete f.position;
        return f;
      }
      return this.finding('unlinked', e, `${at} comes after revision ${this.expected - 1}: revisions are out of order`, { expectedRevision: this.expected });
    }
    this.expected += 1;
    const meta = e.metadata as Record<string, unknown> | undefined;
    if (meta?.prevHash === undefined && meta?.hash === undefined) {
      return this.finding('unlinked', e, `${at} carries no hash chain (no prevHash and hash in its metadata)`);
    }
    if (meta?.prevHash !== this.prev) {
      const f = this.finding(
        'unlinked',
        e,
        e.revision === 0
          ? `${at} does not start the chain: its prevHash ${short(meta?.prevHash)} is not the genesis hash, so earlier events were removed and the rest renumbered`
          : `${at} does not follow revision ${e.revision - 1}: its prevHash ${short(meta?.prevHash)} is not the hash ${short(this.prev)} of revision ${e.revision - 1}. Either revision ${e.revision - 1} was rewritten together with its hash, or events between them were removed and the rest renumbered`,
        { expected: this.prev, found: meta?.prevHash },
      );
      if (typeof meta?.prevHash === 'string') this.pending = { finding: f, wanted: meta.prevHash };
      return f;
    }
    const h = eventHash(this.prev, e);
    if (meta.hash !== h) {
      return this.finding('edited', e, `${at} was edited: its content no longer matches its hash (recomputed ${short(h)}, stored ${short(meta.hash)})`, {
        expected: h,
        found: meta.hash,
      });
    }
    this.prev = h;
    return undefined;
  }

  /** After an unlinked event: if the event it names as predecessor turns up later, the two were swapped. */
  private lookForSwap(e: AuditedEvent): void {
    const pending = this.pending;
    if (!pending || e.metadata?.hash !== pending.wanted) return;
    this.pending = undefined;
    const f = pending.finding;
    f.kind = 'swapped';
    f.message = `${placeOf(this.stream)}: revision ${f.revision} (event ${f.eventId}) and revision ${e.revision} (event ${e.id}) are swapped: event ${f.eventId} names ${e.id} as its predecessor, yet sits before it`;
    f.details = { ...f.details, swappedWith: { revision: e.revision, eventId: e.id, ...(e.position !== undefined ? { position: e.position } : {}) } };
  }

  /** The store's recorded head against the last event present: a deleted last event shows here only. */
  private headFinding(): AuditFinding | undefined {
    const recorded = this.options.recordedRevision;
    if (recorded === undefined || recorded <= this.lastRevision) return undefined;
    const from = this.lastRevision + 1;
    const range = from === recorded ? `revision ${recorded} is` : `revisions ${from}–${recorded} are`;
    const f = this.finding(
      'missing',
      undefined,
      this.count === 0
        ? `${this.place}: the store records revision ${recorded} but the stream holds no events: ${range} missing`
        : `${this.place}: the store records revision ${recorded} but the last event present is revision ${this.lastRevision} (event ${this.lastEventId}): ${range} missing (deleted from the end of the stream)`,
      { missingFrom: from, missingTo: recorded, recordedRevision: recorded, lastRevision: this.lastRevision, lastEventId: this.lastEventId },
    );
    f.revision = from;
    return f;
  }

  private fold(e: AuditedEvent): void {
    const event = e as unknown as RecordedCampaignEvent;
    const broken = campaignRule(this.state, event, this.campaign!);
    if (broken) {
      this.replayProblem = this.finding('replay', e, `${this.place}, revision ${e.revision} (event ${e.id}, ${e.type}): ${broken}`);
      return;
    }
    try {
      this.state = evolve(this.state, event);
    } catch (error) {
      this.replayProblem = this.finding('replay', e, `${this.place}, revision ${e.revision} (event ${e.id}, ${e.type}) does not fold: ${(error as Error).message}`);
    }
  }
}

/** The events whose rules are checked here; others (evaluations, reminders) are folded by evolve as they come. */
const CORE_EVENT_TYPES: readonly string[] = ['CampaignLaunched', 'DeliverableSubmitted', 'DeliverableReviewed', 'StageAdvanced', 'CampaignCompleted'];

/**
 * The rules every campaign history obeys because decide() enforced them when the events
 * were written. A history that breaks one was not written by Docket as it stands.
 * Other event types are left to evolve.
 */
export function campaignRule(state: CampaignState | null, e: RecordedCampaignEvent, campaignId: string): string | undefined {
  if (!state) {
    if (e.type !== 'CampaignLaunched') return `the history does not start with CampaignLaunched`;
    if (e.data?.campaignId !== campaignId) return `CampaignLaunched names campaign ${String(e.data?.campaignId)}, not ${campaignId}`;
    const def = e.data.workflow;
    if (!def || !Array.isArray(def.stages) || !def.stages.some((s) => s.id === e.data.stage)) {
      return `CampaignLaunched carries no workflow definition with its initial stage ${String(e.data?.stage)}`;
    }
    return undefined;
  }
  if (!CORE_EVENT_TYPES.includes(e.type)) return undefined;
  if (e.type === 'CampaignLaunched') return 'a second CampaignLaunched';
  if (state.status === 'completed') return `the campaign was completed at revision ${state.revision}; nothing may follow`;
  switch (e.type) {
    case 'DeliverableSubmitted':
    case 'DeliverableReviewed': {
      const d = e.data;
      if (d.stage !== state.stage) return `it is for stage ${d.stage} while the campaign was in stage ${state.stage}`;
      if (!state.unitIds.has(d.unit)) return `unit ${d.unit} is not part of the campaign`;
      if (e.type === 'DeliverableReviewed') {
        const rec = state.deliverables[d.stage]?.[d.unit]?.[d.deliverable];
        if (!rec) return `it reviews ${d.deliverable} of ${d.unit}, which was never submitted`;
        if (rec.status !== 'submitted') return `it reviews ${d.deliverable} of ${d.unit}, which was already ${rec.status}`;
        if (rec.version !== e.data.version) return `it reviews version ${e.data.version} of ${d.deliverable} of ${d.unit}, but version ${rec.version} was submitted`;
      }
      return undefined;
    }
    case 'StageAdvanced':
      if (e.data.from !== state.stage) return `it leaves stage ${e.data.from} while the campaign was in stage ${state.stage}`;
      if (!state.definition.stages.some((s) => s.id === e.data.to)) return `the workflow has no stage ${e.data.to}`;
      return undefined;
    case 'CampaignCompleted':
      if (e.data.stage !== state.stage) return `it completes in stage ${e.data.stage} while the campaign was in stage ${state.stage}`;
      return undefined;
  }
  return undefined;
}
