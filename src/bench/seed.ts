import type { CampaignCommandExecutor } from '../campaigns/campaign-command.executor';
import type { ManualClock } from '../common/clock';
import type { Actor } from '../common/domain/domain-error';
import type { WorkflowRegistry } from '../workflows/workflow.registry';
import { CampaignState, evolve, stageOf } from '../campaigns/domain/campaign-state';
import { CampaignCommand, decide } from '../campaigns/domain/decide';
import type { CampaignEvent, RecordedCampaignEvent } from '../campaigns/domain/campaign-events';
import type { WorkflowDefinition } from '../workflows/domain/workflow-definition';

export interface SeedOptions {
  /** Campaign ids are `${prefix}-${i}`. */
  prefix: string;
  campaigns: number;
  units: number;
  workflow?: string;
  /** How many stage changes to walk through (0: stay in the first stage). */
  stages?: number;
  /** Share of units that submit in the last stage reached (the rest stay missing: overdue material). */
  lastStageShare?: number;
  /** Every n-th reviewed deliverable is returned once and resubmitted. */
  returnEvery?: number;
  clockStepMs?: number;
}

const bureau: Actor = { sub: 'bureau-office', role: 'bureau' };

/**
 * Drives realistic campaign histories through the real command path (decide, hash
 * chain, append): launch, every unit submitting (some returned and resubmitted),
 * bureau reviews, stage changes. Used by tests and benchmarks.
 */
export async function seedCampaigns(executor: CampaignCommandExecutor, workflows: WorkflowRegistry, clock: ManualClock, o: SeedOptions): Promise<{ events: number }> {
  const def = workflows.get(o.workflow ?? 'three-searches');
  const units = Array.from({ length: o.units }, (_, i) => ({ id: `unit-${i + 1}`, name: `单位${i + 1}` }));
  const step = o.clockStepMs ?? 60_000;
  const stages = o.stages ?? 1;
  const returnEvery = o.returnEvery ?? 10;
  let events = 0;
  const run = async (id: string, command: Parameters<CampaignCommandExecutor['execute']>[1]) => {
    clock.advance(step);
    const r = await executor.execute(id, command, { actor: bureau, correlationId: 'seed' });
    events += r.events.length;
  };
  for (let c = 0; c < o.campaigns; c++) {
    const id = `${o.prefix}-${c + 1}`;
    await run(id, { type: 'LaunchCampaign', data: { campaignId: id, title: `${def.title.zh} ${c + 1}`, workflow: def, units } });
    let stage = def.initial;
    for (let s = 0; s <= stages; s++) {
      const stageDef = stageOf(def, stage);
      const last = s === stages || !!stageDef.final;
      const share = last ? (o.lastStageShare ?? 1) : 1;
      let n = 0;
      for (const d of stageDef.deliverables ?? []) {
        for (const u of units.slice(0, Math.round(units.length * share))) {
          await run(id, { type: 'SubmitDeliverable', data: { unit: u.id, deliverable: d.id, title: `${u.name}${d.title.zh}` } });
          if (!d.review) continue;
          if (++n % returnEvery === 0) {
            await run(id, { type: 'ReviewDeliverable', data: { unit: u.id, deliverable: d.id, decision: 'returned', comment: '请补充措施' } });
            await run(id, { type: 'SubmitDeliverable', data: { unit: u.id, deliverable: d.id, title: `${u.name}${d.title.zh}（修改稿）` } });
          }
          await run(id, { type: 'ReviewDeliverable', data: { unit: u.id, deliverable: d.id, decision: 'approved' } });
        }
      }
      if (last) break;
      const t = stageDef.transitions?.[0];
      if (!t) break;
      await run(id, { type: 'TriggerTransition', data: { event: t.event, reason: 'seed' } });
      stage = t.target;
    }
  }
  return { events };
}

export interface HistoryOptions {
  campaignId: string;
  workflow: WorkflowDefinition;
  units: number;
  /** Stage changes to walk through. */
  stages: number;
  /** Share of units that submit in the last stage reached. */
  lastStageShare: number;
  returnEvery?: number;
  deadlines?: Record<string, string>;
}

/**
 * A whole campaign history decided in memory (decide + evolve, no I/O), to be appended
 * in one go: fast seeding for benchmarks with thousands of campaigns.
 */
export function campaignHistory(o: HistoryOptions, now: Date): CampaignEvent[] {
  const units = Array.from({ length: o.units }, (_, i) => ({ id: `unit-${i + 1}`, name: `单位${i + 1}` }));
  const out: CampaignEvent[] = [];
  let state: CampaignState | null = null;
  const run = (command: CampaignCommand) => {
    for (const e of decide(command, state, { actor: bureau, now })) {
      out.push(e);
      state = evolve(state, { ...e, id: '', revision: out.length - 1, metadata: { actor: bureau, occurredAt: now.toISOString(), correlationId: 'seed', prevHash: '', hash: '' } } as RecordedCampaignEvent);
    }
  };
  run({ type: 'LaunchCampaign', data: { campaignId: o.campaignId, title: `${o.workflow.title.zh} ${o.campaignId}`, workflow: o.workflow, units, deadlines: o.deadlines } });
  const returnEvery = o.returnEvery ?? 10;
  for (let s = 0; s <= o.stages; s++) {
    const stageDef = stageOf(o.workflow, state!.stage);
    const last = s === o.stages || !!stageDef.final;
    let n = 0;
    for (const d of stageDef.deliverables ?? []) {
      for (const u of units.slice(0, Math.round(units.length * (last ? o.lastStageShare : 1)))) {
        run({ type: 'SubmitDeliverable', data: { unit: u.id, deliverable: d.id, title: `${u.name}${d.title.zh}` } });
        if (!d.review) continue;
        if (++n % returnEvery === 0) {
          run({ type: 'ReviewDeliverable', data: { unit: u.id, deliverable: d.id, decision: 'returned', comment: '请补充措施' } });
          run({ type: 'SubmitDeliverable', data: { unit: u.id, deliverable: d.id, title: `${u.name}${d.title.zh}（修改稿）` } });
        }
        run({ type: 'ReviewDeliverable', data: { unit: u.id, deliverable: d.id, decision: 'approved' } });
      }
    }
    if (last) break;
    const t = stageDef.transitions?.[0];
    if (!t) break;
    run({ type: 'TriggerTransition', data: { event: t.event, reason: 'seed' } });
  }
  return out;
}
