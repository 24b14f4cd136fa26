import { chainedHistory } from '../../test/audit/chained-history';
import { campaignView } from '../campaigns/domain/campaign-view';
import { replay } from '../campaigns/domain/campaign-state';
import { ReplaySnapshots } from './replay-snapshots';

describe('time travel from snapshots', () => {
  const history = chainedHistory('snapshots', 12);
  const reads: number[] = [];
  const read = async (from: number, max: number) => {
    const page = history.slice(from, from + max);
    reads.push(page.length);
    return page;
  };
  const view = (s: any, at: string) => JSON.stringify(campaignView(s, new Date(at)));

  it('answers every revision exactly as a full replay does, in any order, reading only what follows a snapshot', async () => {
    const snapshots = new ReplaySnapshots({ every: 5, perCampaign: 3 });
    const order = [...history.keys()].reverse().concat([...history.keys()]);
    for (const n of order) {
      const { state, last } = await snapshots.replayTo('snapshots', n, read);
      const expected = replay(history.slice(0, n + 1));
      expect(last?.revision).toBe(n);
      expect(view(state, last!.metadata.occurredAt)).toBe(view(expected, last!.metadata.occurredAt));
    }
    // after the first full fold, no answer reads more than the spacing (5, doubled twice to keep 3 snapshots)
    expect(Math.max(...reads.slice(1))).toBeLessThanOrEqual(5 * 4);
  });

  it('hands out copies: changing an answer does not change the next one', async () => {
    const snapshots = new ReplaySnapshots({ every: 2 });
    const first = await snapshots.replayTo('snapshots', 5, read);
    first.state!.stage = 'tampered';
    first.state!.deliverables = {};
    const again = await snapshots.replayTo('snapshots', 5, read);
    expect(again.state!.stage).toBe(replay(history.slice(0, 6))!.stage);
    expect(Object.keys(again.state!.deliverables)).not.toEqual([]);
  });

  it('answers a revision beyond the history with the last event there is', async () => {
    const { last } = await new ReplaySnapshots().replayTo('snapshots', 10_000, read);
    expect(last?.revision).toBe(history.length - 1);
  });
});
