import { CampaignEvaluation, CampaignState, DeliverableRecord, openedInOrder, stageOf } from './campaign-state';
import { stageDeadline } from './campaign-facts';
import { TransitionOption, transitionOptions } from './decide';

export interface DeliverableView {
  status: 'missing' | 'submitted' | 'approved' | 'returned';
  at?: string;
  title?: string;
  url?: string;
  version?: number;
  reviewedAt?: string;
  comment?: string;
}

export interface CampaignView {
  id: string;
  title: string;
  workflow: { id: string; version: number };
  stage: string;
  stageTitle: { zh: string; en: string };
  stageEnteredAt: string;
  status: 'active' | 'completed';
  revision: number;
  launchedAt: string;
  completedAt?: string;
  deadline: string | null;
  overdue: boolean;
  units: { id: string; name: string; deliverables: Record<string, DeliverableView> }[];
  transitions: TransitionOption[];
  /** The campaign's evaluations (details, turnout so far and tally: GET /api/evaluations/:id). */
  evaluations: EvaluationSummaryView[];
}

export interface EvaluationSummaryView {
  id: string;
  evaluation: string;
  stage: string;
  title: string;
  unit?: string;
  status: 'open' | 'closed';
  openedAt: string;
  closedAt?: string;
  issued: number;
  /** Published at close. */
  cast?: number;
  turnout?: number;
}

function evaluationSummary(e: CampaignEvaluation): EvaluationSummaryView {
  const v: EvaluationSummaryView = { id: e.id, evaluation: e.evaluation, stage: e.stage, title: e.title, status: e.status, openedAt: e.openedAt, issued: e.issued };
  if (e.unit !== undefined) v.unit = e.unit;
  if (e.closedAt !== undefined) v.closedAt = e.closedAt;
  if (e.cast !== undefined) {
    v.cast = e.cast;
    v.turnout = e.issued > 0 ? Math.round((e.cast / e.issued) * 1e6) / 1e6 : 0;
  }
  return v;
}

function deliverableView(rec: DeliverableRecord | undefined): DeliverableView {
  if (!rec) return { status: 'missing' };
  const v: DeliverableView = { status: rec.status, at: rec.at, title: rec.title, version: rec.version };
  if (rec.url !== undefined) v.url = rec.url;
  if (rec.reviewedAt !== undefined) v.reviewedAt = rec.reviewedAt;
  if (rec.comment !== undefined) v.comment = rec.comment;
  return v;
}

/**
 * The campaign as GET /api/campaigns/:id shows it (DESIGN §4). `now` decides `overdue`
 * and the date guards; it is an input, so a replay at a given time gives the same view.
 */
export function campaignView(state: CampaignState, now: Date): CampaignView {
  const stage = stageOf(state.definition, state.stage);
  const deadline = state.status === 'active' ? (stageDeadline(state) ?? null) : null;
  const matrix = state.deliverables[state.stage] ?? {};
  const view: CampaignView = {
    id: state.id,
    title: state.title,
    workflow: { id: state.definition.id, version: state.definition.version },
    stage: state.stage,
    stageTitle: stage.title,
    stageEnteredAt: state.stageEnteredAt,
    status: state.status,
    revision: state.revision,
    launchedAt: state.launchedAt,
    deadline,
    overdue: deadline !== null && now.getTime() > Date.parse(deadline),
    units: state.units.map((u) => {
      const deliverables: Record<string, DeliverableView> = {};
      for (const d of stage.deliverables ?? []) deliverables[d.id] = deliverableView(matrix[u.id]?.[d.id]);
      return { id: u.id, name: u.name, deliverables };
    }),
    transitions: transitionOptions(state, now),
    evaluations: openedInOrder(state).map(evaluationSummary),
  };
  if (state.completedAt) view.completedAt = state.completedAt;
  return view;
}
