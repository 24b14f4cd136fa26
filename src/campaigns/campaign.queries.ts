import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, Clock } from '../common/clock';
import { Actor, DomainError } from '../common/domain/domain-error';
import { auditStoredStream } from '../audit/checks/streams.check';
import { campaignStream } from './domain/campaign-events';
import { CampaignRepository } from './campaign.repository';
import type { RecordedCampaignEvent } from './domain/campaign-events';
import { CampaignState } from './domain/campaign-state';
import { CampaignView, campaignView } from './domain/campaign-view';

/** Units see only their own row (and their own name among blockers); everyone else sees the whole campaign. */
export function visibleTo(view: CampaignView, actor: Actor): CampaignView {
  if (actor.role !== 'unit') return view;
  const own = (u: string) => u === actor.unit;
  return {
    ...view,
    units: view.units.filter((u) => own(u.id)),
    transitions: view.transitions.map((t) => ({
      ...t,
      blockers: t.blockers.map((b) => ('units' in b ? { ...b, units: b.units.filter(own) } : b)),
    })),
  };
}

export interface HistoryFilter {
  fromRevision: number;
  limit: number;
  /** Event types to keep (any of them). */
  types?: string[];
  /** The actor's sub. */
  actor?: string;
  /** occurredAt at or after. */
  from?: Date;
  /** occurredAt at or before. */
  to?: Date;
}

const HISTORY_READ_PAGE = 2000;

/**
 * One page of a history. Without filters it reads only the page; with filters it reads the
 * stream in pages to count every match (the total), keeping at most one page of results.
 */
export async function historyPage(repo: CampaignRepository, id: string, revision: number, q: HistoryFilter) {
  const types = q.types ? new Set(q.types) : undefined;
  const fromMs = q.from?.getTime();
  const toMs = q.to?.getTime();
  const filtered = types !== undefined || q.actor !== undefined || fromMs !== undefined || toMs !== undefined;
  if (!filtered) {
    const events = await repo.events(id, q.fromRevision, q.limit);
    const last = events[events.length - 1];
    return { total: revision + 1, next: last && last.revision < revision ? last.revision + 1 : null, events };
  }
  const matches = (e: RecordedCampaignEvent) => {
    if (types && !types.has(e.type)) return false;
    if (q.actor !== undefined && e.metadata.actor?.sub !== q.actor) return false;
    const t = Date.parse(e.metadata.occurredAt);
    if (fromMs !== undefined && t < fromMs) return false;
    if (toMs !== undefined && t > toMs) return false;
    return true;
  };
  const events: RecordedCampaignEvent[] = [];
  let total = 0;
  let next: number | null = null;
  for (let from = 0; from <= revision; ) {
    const batch = await repo.events(id, from, HISTORY_READ_PAGE);
    for (const e of batch) {
      if (e.revision > revision || !matches(e)) continue;
      total += 1;
      if (e.revision < q.fromRevision) continue;
      if (events.length < q.limit) events.push(e);
      else next ??= e.revision;
    }
    if (batch.length < HISTORY_READ_PAGE) break;
    from = batch[batch.length - 1].revision + 1;
  }
  return { total, next, events };
}

@Injectable()
export class CampaignQueries {
  constructor(
    private readonly repo: CampaignRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private async require(id: string, actor: Actor): Promise<CampaignState> {
    const state = await this.repo.load(id);
    if (!state || (actor.role === 'unit' && !state.unitIds.has(actor.unit!))) {
      throw new DomainError('CAMPAIGN_NOT_FOUND', `no campaign ${id}`, { id });
    }
    return state;
  }

  async get(id: string, actor: Actor): Promise<CampaignView> {
    const state = await this.require(id, actor);
    return visibleTo(campaignView(state, this.clock.now()), actor);
  }

  /**
   * A page of the campaign's events, oldest first, optionally filtered by type, actor and time.
   * `total` counts every event that matches the filters; `next` is the fromRevision of the next
   * page (null on the last one).
   */
  async history(id: string, actor: Actor, query: HistoryFilter) {
    const state = await this.require(id, actor);
    const page = await historyPage(this.repo, id, state.revision, query);
    return {
      campaign: id,
      revision: state.revision,
      fromRevision: query.fromRevision,
      limit: query.limit,
      filters: {
        ...(query.types ? { type: query.types } : {}),
        ...(query.actor !== undefined ? { actor: query.actor } : {}),
        ...(query.from ? { from: query.from.toISOString() } : {}),
        ...(query.to ? { to: query.to.toISOString() } : {}),
      },
      total: page.total,
      next: page.next,
      events: page.events.map((e) => ({
        revision: e.revision,
        id: e.id,
        type: e.type,
        actor: e.metadata.actor,
        occurredAt: e.metadata.occurredAt,
        correlationId: e.metadata.correlationId,
        prevHash: e.metadata.prevHash,
        hash: e.metadata.hash,
        data: e.data,
      })),
    };
  }

  /**
   * The campaign as it was at a revision (judged at the time of that event) or at an
   * instant (judged at that instant), folded from the log alone.
   */
  async stateAt(id: string, actor: Actor, until: { revision?: number; at?: Date }) {
    await this.require(id, actor);
    const { state, last } = await this.repo.replayTo(id, until);
    if (!state || !last) {
      throw new DomainError('CAMPAIGN_NOT_FOUND', `campaign ${id} did not exist yet at ${until.at?.toISOString() ?? `revision ${until.revision}`}`, { id });
    }
    if (until.revision !== undefined && last.revision !== until.revision) {
      throw new DomainError('INVALID_QUERY', `campaign ${id} has no revision ${until.revision}; its latest is ${last.revision}`, {
        revision: until.revision,
        latest: last.revision,
      });
    }
    const judgedAt = until.at ?? new Date(last.metadata.occurredAt);
    return visibleTo(campaignView(state, judgedAt), actor);
  }

  /**
   * The audit of one campaign stream (the same check as `docket verify <campaign>`): the hash
   * chain, the head the store recorded (catches a deleted last event) and a replay through the
   * domain; names the first bad event and why.
   */
  async verify(id: string, actor: Actor) {
    await this.require(id, actor);
    const streamId = campaignStream(id);
    const recorded = await this.repo.store.streamRevision(streamId);
    const audit = await auditStoredStream(this.repo.store, streamId, recorded === -1 ? undefined : recorded);
    const first = audit.findings.find((f) => f.revision !== undefined) ?? audit.findings[0];
    const ok = audit.findings.length === 0 && audit.chainOk && audit.replay !== 'failed';
    return {
      campaign: id,
      ok,
      events: audit.events,
      headHash: audit.headHash,
      chain: audit.chainOk && !first ? { ok: true } : { ok: false, firstBadEvent: first },
      replay: { ok: audit.replay === 'ok', status: audit.replay },
      findings: audit.findings,
    };
  }
}
