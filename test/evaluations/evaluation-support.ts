import type { Docket } from '../support/docket-harness';

/** A small deterministic generator (mulberry32), so a scenario's ballots are the same on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Drives a launched campaign forward (submitting and approving everything owed) until it is in `stage`. */
export async function advanceTo(docket: Docket, campaignId: string, stage: string): Promise<void> {
  for (let step = 0; step < 20; step++) {
    const campaign = (await docket.call('GET', `/api/campaigns/${campaignId}`)).body;
    if (campaign.stage === stage) return;
    const workflow = (await docket.call('GET', `/api/workflows/${campaign.workflow.id}`)).body;
    const def = workflow.stages.find((s: any) => s.id === campaign.stage);
    for (const d of def.deliverables ?? []) {
      for (const u of campaign.units) {
        const r = await docket.call('POST', `/api/campaigns/${campaignId}/submissions`, { body: { unit: u.id, deliverable: d.id, title: `${u.id} ${d.id}` } });
        if (r.status !== 201) throw new Error(`submission refused: ${r.raw}`);
        if (d.review) await docket.call('POST', `/api/campaigns/${campaignId}/reviews`, { body: { unit: u.id, deliverable: d.id, decision: 'approved' } });
      }
    }
    docket.clock.advance(3600_000);
    const moved = await docket.call('POST', `/api/campaigns/${campaignId}/transitions`, { body: { event: 'ADVANCE' } });
    if (moved.status !== 200) throw new Error(`ADVANCE refused in ${campaign.stage}: ${moved.raw}`);
  }
  throw new Error(`campaign ${campaignId} never reached ${stage}`);
}

/** Sends requests `width` at a time. */
export async function inWaves<T>(items: T[], width: number, send: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map((item, j) => send(item, i + j)));
}
