import type { CampaignState } from '../../campaigns/domain/campaign-state';

export interface DeliverableCounts {
  submitted: number;
  approved: number;
  returned: number;
  missing: number;
}

/** What an auditor reads first about a replayed campaign: where it stood, and who had delivered what in every stage it visited. */
export interface CampaignSummary {
  campaign: string;
  title: string;
  workflow: { id: string; version: number };
  stage: string;
  status: 'active' | 'completed';
  revision: number;
  launchedAt: string;
  completedAt?: string;
  lastEventAt: string;
  units: number;
  /** Stages in the order visited, with when and by whom they were entered. */
  stages: { stage: string; enteredAt: string; event?: string; by?: string; reason?: string }[];
  /** stage → deliverable → counts over the campaign's units. */
  deliverables: Record<string, Record<string, DeliverableCounts>>;
}

export function summarizeCampaign(state: CampaignState): CampaignSummary {
  const deliverables: CampaignSummary['deliverables'] = {};
  for (const visit of state.stages) {
    const def = state.definition.stages.find((s) => s.id === visit.stage);
    const perStage = (deliverables[visit.stage] ??= {});
    for (const d of def?.deliverables ?? []) {
      const counts: DeliverableCounts = { submitted: 0, approved: 0, returned: 0, missing: 0 };
      for (const u of state.units) {
        const status = state.deliverables[visit.stage]?.[u.id]?.[d.id]?.status ?? 'missing';
        counts[status] += 1;
      }
      perStage[d.id] = counts;
    }
  }
  const summary: CampaignSummary = {
    campaign: state.id,
    title: state.title,
    workflow: { id: state.definition.id, version: state.definition.version },
    stage: state.stage,
    status: state.status,
    revision: state.revision,
    launchedAt: state.launchedAt,
    lastEventAt: state.lastEventAt,
    units: state.units.length,
    stages: state.stages.map((v) => {
      const s: CampaignSummary['stages'][number] = { stage: v.stage, enteredAt: v.enteredAt };
      if (v.event) s.event = v.event;
      if (v.actor) s.by = v.actor.sub;
      if (v.reason) s.reason = v.reason;
      return s;
    }),
    deliverables,
  };
  if (state.completedAt) summary.completedAt = state.completedAt;
  return summary;
}

/** Every unit's record for every deliverable of every stage visited: "which units had submitted what". */
export function deliverableRows(state: CampaignState) {
  const rows: { stage: string; unit: string; deliverable: string; status: string; version?: number; at?: string; reviewedAt?: string; title?: string }[] = [];
  const visited = [...new Set(state.stages.map((v) => v.stage))];
  for (const stage of visited) {
    const def = state.definition.stages.find((s) => s.id === stage);
    for (const d of def?.deliverables ?? []) {
      for (const u of state.units) {
        const rec = state.deliverables[stage]?.[u.id]?.[d.id];
        rows.push(
          rec
            ? { stage, unit: u.id, deliverable: d.id, status: rec.status, version: rec.version, at: rec.at, reviewedAt: rec.reviewedAt, title: rec.title }
            : { stage, unit: u.id, deliverable: d.id, status: 'missing' },
        );
      }
    }
  }
  return rows;
}
