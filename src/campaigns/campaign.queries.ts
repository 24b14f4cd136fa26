import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, Clock } from '../common/clock';
import { Actor, DomainError } from '../common/domain/domain-error';
import { verifyChain } from '../audit/domain/hash-chain';
import { CampaignRepository } from './campaign.repository';
import { CampaignState, replay } from './domain/campaign-state';
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

  async history(id: string, actor: Actor, fromRevision: number, limit: number) {
    const state = await this.require(id, actor);
    const events = await this.repo.events(id, fromRevision, limit);
    return {
      campaign: id,
      revision: state.revision,
      fromRevision,
      limit,
      events: events.map((e) => ({
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

  /** Recomputes the hash chain and checks that the whole log folds; names the first bad event. */
  async verify(id: string, actor: Actor) {
    await this.require(id, actor);
    const events = await this.repo.events(id);
    const chain = verifyChain(events);
    let replayOk = true;
    let replayError: string | undefined;
    try {
      const s = replay(events);
      if (!s || s.revision !== events[events.length - 1]?.revision) throw new Error('the replay did not reach the last event');
    } catch (e) {
      replayOk = false;
      replayError = (e as Error).message;
    }
    return {
      campaign: id,
      ok: chain.ok && replayOk,
      events: events.length,
      headHash: chain.headHash,
      chain: chain.ok ? { ok: true } : { ok: false, firstBadEvent: chain.problem },
      replay: replayOk ? { ok: true } : { ok: false, error: replayError },
    };
  }
}
