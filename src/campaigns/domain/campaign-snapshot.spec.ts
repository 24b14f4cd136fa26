import { resolve } from 'node:path';
import { loadWorkflowsDir } from '../../workflows/workflow-loader';
import { campaignHistory } from '../../bench/seed';
import type { RecordedCampaignEvent } from './campaign-events';
import { replay } from './campaign-state';
import { restoreSnapshot, SNAPSHOT_FORMAT, takeSnapshot } from './campaign-snapshot';

const def = loadWorkflowsDir(resolve(__dirname, '../../../workflows')).find((w) => w.id === 'three-searches')!;
const actor = { sub: 'bureau-1', role: 'bureau' as const };

function history() {
  const events = campaignHistory({ campaignId: 'c1', workflow: def, units: 12, stages: 2, lastStageShare: 0.5, returnEvery: 3 }, new Date('2024-03-01T00:00:00Z'));
  return events.map(
    (e, i) =>
      ({
        ...e,
        id: `e${i}`,
        revision: i,
        metadata: { actor, occurredAt: new Date(Date.parse('2024-03-01T00:00:00Z') + i * 60_000).toISOString(), correlationId: 'c', prevHash: `h${i - 1}`, hash: `h${i}`, ...(i % 5 === 0 ? { idempotencyKey: `k${i}`, requestHash: `r${i}` } : {}) },
      }) as RecordedCampaignEvent,
  );
}

describe('campaign snapshots', () => {
  it('restore the state they were taken of: sets, maps, the matrix and the stage history', () => {
    const state = replay(history())!;
    const restored = restoreSnapshot(takeSnapshot(state))!;
    expect(restored).toEqual(state);
    expect(restored.unitIds).toEqual(state.unitIds);
    expect([...restored.idempotency]).toEqual([...state.idempotency]);
    expect(restored.stages.length).toBeGreaterThan(1);
  });

  it('are ASCII text (names and titles as \\u escapes) that restores every character, those outside the BMP and lone surrogates included', () => {
    const state = replay(history())!;
    const unit = state.units[0].id;
    const stage = Object.keys(state.deliverables)[0];
    const deliverable = Object.keys(state.deliverables[stage][unit])[0];
    const title = '整改方案 😀 \ud800 é \u007f end';
    state.deliverables[stage][unit][deliverable].title = title;
    const snapshot = takeSnapshot(state);
    expect(snapshot.state).toMatch(/^[\x20-\x7e]*$/);
    expect(snapshot.state).toContain('\\u6574\\u6539');
    const restored = restoreSnapshot(snapshot)!;
    expect(restored.deliverables[stage][unit][deliverable].title).toBe(title);
    expect(restored.units).toEqual(state.units);
    expect(restored).toEqual(state);
  });

  it('written before they were ASCII (characters as they are) restore alike', () => {
    const state = replay(history())!;
    const snapshot = takeSnapshot(state);
    const raw = JSON.stringify(JSON.parse(snapshot.state));
    expect(raw).toMatch(/[^\x00-\x7f]/);
    expect(restoreSnapshot({ ...snapshot, state: raw })).toEqual(state);
  });

  it('fold on from where they were taken exactly as the whole history does', () => {
    const events = history();
    const half = Math.floor(events.length / 2);
    const restored = restoreSnapshot(takeSnapshot(replay(events.slice(0, half))!));
    expect(replay(events.slice(half), restored)).toEqual(replay(events));
  });

  it('share nothing with the state they were taken of, which the fold goes on updating in place', () => {
    const events = history();
    const state = replay(events.slice(0, 10))!;
    const snapshot = takeSnapshot(state);
    replay(events.slice(10), state);
    expect(restoreSnapshot(snapshot)!.revision).toBe(9);
  });

  it('name the revision and the hash of the event they were taken at', () => {
    const snapshot = takeSnapshot(replay(history().slice(0, 7))!);
    expect(snapshot).toMatchObject({ campaignId: 'c1', revision: 6, lastHash: 'h6', format: SNAPSHOT_FORMAT });
  });

  it('of another format are not restored', () => {
    const snapshot = takeSnapshot(replay(history())!);
    expect(restoreSnapshot({ ...snapshot, format: SNAPSHOT_FORMAT + 1 })).toBeNull();
  });
});
