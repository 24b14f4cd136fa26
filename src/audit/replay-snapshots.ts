import type { RecordedCampaignEvent } from '../campaigns/domain/campaign-events';
import { CampaignState, cloneState, evolve } from '../campaigns/domain/campaign-state';

interface Snapshot {
  revision: number;
  state: CampaignState;
  last: RecordedCampaignEvent;
}

export interface ReplaySnapshotsOptions {
  /** Take a snapshot every this many revisions while folding. Default 250. */
  every?: number;
  /** Snapshots kept per campaign; past it the campaign's spacing doubles and the snapshots off it are dropped. Default 64. */
  perCampaign?: number;
  /** Campaigns kept (least recently used are dropped). Default 100. */
  campaigns?: number;
}

/**
 * Time travel without folding the whole history each time: state?revision=N starts from the
 * nearest snapshot at or below N and folds only the events after it. A log is append-only, so
 * a snapshot of revision R stays the state after R. Snapshots are copies (evolve updates in
 * place), and every answer is folded into a fresh copy, so callers may keep or change it.
 */
export class ReplaySnapshots {
  private readonly byCampaign = new Map<string, { spacing: number; snaps: Snapshot[] }>();
  private readonly every: number;
  private readonly perCampaign: number;
  private readonly campaigns: number;

  constructor(options: ReplaySnapshotsOptions = {}) {
    this.every = options.every ?? 250;
    this.perCampaign = options.perCampaign ?? 64;
    this.campaigns = options.campaigns ?? 100;
  }

  /**
   * The campaign right after `revision`; `read(fromRevision, maxCount)` reads its events in revision
   * order. `last` is the last event folded (below `revision` when the history is shorter).
   */
  async replayTo(
    campaignId: string,
    revision: number,
    read: (fromRevision: number, maxCount: number) => Promise<RecordedCampaignEvent[]>,
  ): Promise<{ state: CampaignState | null; last?: RecordedCampaignEvent }> {
    const entry = this.byCampaign.get(campaignId) ?? { spacing: this.every, snaps: [] };
    this.byCampaign.delete(campaignId);
    this.byCampaign.set(campaignId, entry);
    if (this.byCampaign.size > this.campaigns) this.byCampaign.delete(this.byCampaign.keys().next().value!);
    const snaps = entry.snaps;

    const base = nearestAtOrBelow(snaps, revision);
    let state: CampaignState | null = base ? cloneState(base.state) : null;
    let last = base?.last;
    const from = base ? base.revision + 1 : 0;
    if (from > revision) return { state, last };
    for (const e of await read(from, revision - from + 1)) {
      state = evolve(state, e);
      last = e;
      if (state && (e.revision + 1) % entry.spacing === 0 && !snaps.some((s) => s.revision === e.revision)) {
        insertSorted(snaps, { revision: e.revision, state: cloneState(state), last: e });
        while (snaps.length > this.perCampaign) {
          entry.spacing *= 2;
          const kept = snaps.filter((s) => (s.revision + 1) % entry.spacing === 0);
          snaps.splice(0, snaps.length, ...kept);
        }
      }
    }
    return { state, last };
  }

  /** Forgets a campaign's snapshots (e.g. after its store was restored from a backup). */
  forget(campaignId: string): void {
    this.byCampaign.delete(campaignId);
  }
}

function nearestAtOrBelow(snaps: Snapshot[], revision: number): Snapshot | undefined {
  let lo = 0;
  let hi = snaps.length - 1;
  let found: Snapshot | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (snaps[mid].revision <= revision) {
      found = snaps[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function insertSorted(snaps: Snapshot[], s: Snapshot): void {
  let i = snaps.length;
  while (i > 0 && snaps[i - 1].revision > s.revision) i -= 1;
  snaps.splice(i, 0, s);
}
