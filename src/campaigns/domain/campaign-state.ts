import type { StageDefinition, WorkflowDefinition } from '../../workflows/domain/workflow-definition';
import type { RecordedCampaignEvent, UnitRef } from './campaign-events';
import type { Actor } from '../../common/domain/domain-error';

export type DeliverableStatus = 'missing' | 'submitted' | 'approved' | 'returned';

export interface DeliverableRecord {
  status: Exclude<DeliverableStatus, 'missing'>;
  /** When it was last submitted. */
  at: string;
  title: string;
  url?: string;
  version: number;
  reviewedAt?: string;
  comment?: string;
}

/** stage → unit → deliverable → record (absent = missing). */
export type DeliverableMatrix = Record<string, Record<string, Record<string, DeliverableRecord>>>;

export interface StageVisit {
  stage: string;
  enteredAt: string;
  event?: string;
  actor?: Actor;
  reason?: string;
}

/** What the campaign knows of one of its evaluations (from its own stream, never from the ballots). */
export interface CampaignEvaluation {
  id: string;
  /** The evaluation's id in the workflow. */
  evaluation: string;
  stage: string;
  title: string;
  unit?: string;
  status: 'open' | 'closed';
  openedAt: string;
  /** The campaign revision that opened it: evaluations in opening order sort by it (their ids may look like numbers, which objects list first). */
  openedRevision: number;
  closedAt?: string;
  issued: number;
  cast?: number;
  groups: Record<string, { issued: number; cast?: number }>;
  tallyHash?: string;
}

export interface CampaignState {
  id: string;
  title: string;
  definition: WorkflowDefinition;
  status: 'active' | 'completed';
  stage: string;
  stageEnteredAt: string;
  launchedAt: string;
  launchedBy: Actor;
  completedAt?: string;
  /** Revision of the last folded event. */
  revision: number;
  /** Hash of the last folded event: the next event's prevHash. */
  lastHash: string;
  lastEventAt: string;
  units: UnitRef[];
  unitIds: Set<string>;
  deadlines: Record<string, string>;
  deliverables: DeliverableMatrix;
  /** Evaluations opened in the campaign, by evaluation id (in opening order: see openedInOrder). */
  evaluations: Record<string, CampaignEvaluation>;
  stages: StageVisit[];
  /** Idempotency-Key → the revision range it produced and the request fingerprint. */
  idempotency: Map<string, { firstRevision: number; lastRevision: number; requestHash?: string }>;
}

/**
 * The campaign's evaluations in the order they were opened. Not Object.values(state.evaluations):
 * an object lists keys that look like integers ("9", "10") first, in numeric order, whatever the
 * order they were added in, and evaluation ids may look like that.
 */
export function openedInOrder(state: Pick<CampaignState, 'evaluations'>): CampaignEvaluation[] {
  return Object.values(state.evaluations).sort((a, b) => a.openedRevision - b.openedRevision);
}

export function stageOf(def: WorkflowDefinition, stageId: string): StageDefinition {
  const s = def.stages.find((x) => x.id === stageId);
  if (!s) throw new Error(`workflow ${def.id} v${def.version} has no stage ${stageId}`);
  return s;
}

/**
 * Folds one event into the state. The fold owns the state it is given and updates it
 * in place (a replay of a long history must not copy 120-unit matrices per event);
 * callers that keep an older state must fold into a clone (see cloneState).
 * Events at or below the state's revision are ignored, so delivering one twice is harmless.
 */
export function evolve(state: CampaignState | null, event: RecordedCampaignEvent): CampaignState | null {
  if (state && event.revision <= state.revision) return state;
  const at = event.metadata.occurredAt;
  if (event.type === 'CampaignLaunched') {
    if (state) return state;
    const d = event.data;
    state = {
      id: d.campaignId,
      title: d.title,
      definition: d.workflow,
      status: 'active',
      stage: d.stage,
      stageEnteredAt: at,
      launchedAt: at,
      launchedBy: event.metadata.actor,
      revision: event.revision,
      lastHash: event.metadata.hash,
      lastEventAt: at,
      units: d.units,
      unitIds: new Set(d.units.map((u) => u.id)),
      deadlines: d.deadlines ?? {},
      deliverables: {},
      evaluations: {},
      stages: [{ stage: d.stage, enteredAt: at, actor: event.metadata.actor }],
      idempotency: new Map(),
    };
  }
  if (!state) return null;
  switch (event.type) {
    case 'DeliverableSubmitted': {
      const d = event.data;
      const unit = ((state.deliverables[d.stage] ??= {})[d.unit] ??= {});
      unit[d.deliverable] = { status: 'submitted', at, title: d.title, url: d.url, version: d.version };
      break;
    }
    case 'DeliverableReviewed': {
      const d = event.data;
      const rec = state.deliverables[d.stage]?.[d.unit]?.[d.deliverable];
      if (rec) {
        rec.status = d.decision;
        rec.reviewedAt = at;
        rec.comment = d.comment;
      }
      break;
    }
    case 'StageAdvanced':
      state.stage = event.data.to;
      state.stageEnteredAt = at;
      state.stages.push({
        stage: event.data.to,
        enteredAt: at,
        event: event.data.event,
        actor: event.metadata.actor,
        reason: event.data.reason,
      });
      break;
    case 'DeadlineChanged':
      state.deadlines = { ...state.deadlines, [event.data.stage]: event.data.to };
      break;
    case 'CampaignCompleted':
      state.status = 'completed';
      state.completedAt = at;
      break;
    case 'CampaignEvaluationOpened': {
      const d = event.data;
      const groups: CampaignEvaluation['groups'] = {};
      for (const [g, c] of Object.entries(d.groups)) groups[g] = { issued: c.issued };
      state.evaluations[d.evaluationId] = {
        id: d.evaluationId,
        evaluation: d.evaluation,
        stage: d.stage,
        title: d.title,
        ...(d.unit !== undefined ? { unit: d.unit } : {}),
        status: 'open',
        openedAt: at,
        openedRevision: event.revision,
        issued: d.issued,
        groups,
      };
      break;
    }
    case 'CampaignEvaluationClosed': {
      const d = event.data;
      const e = state.evaluations[d.evaluationId];
      if (e) {
        e.status = 'closed';
        e.closedAt = at;
        e.cast = d.cast;
        e.tallyHash = d.tallyHash;
        for (const [g, c] of Object.entries(d.groups)) e.groups[g] = { issued: c.issued, cast: c.cast };
      }
      break;
    }
  }
  const key = event.metadata.idempotencyKey;
  if (key) {
    const seen = state.idempotency.get(key);
    if (seen) seen.lastRevision = event.revision;
    else state.idempotency.set(key, { firstRevision: event.revision, lastRevision: event.revision, requestHash: event.metadata.requestHash });
  }
  state.revision = event.revision;
  state.lastHash = event.metadata.hash;
  state.lastEventAt = at;
  return state;
}

/** Folds a history from nothing. */
export function replay(events: Iterable<RecordedCampaignEvent>, state: CampaignState | null = null): CampaignState | null {
  for (const e of events) state = evolve(state, e);
  return state;
}

/** A deep copy, for callers that fold further but must keep the original (the definition is shared: it never changes). */
export function cloneState(s: CampaignState): CampaignState {
  const deliverables: DeliverableMatrix = {};
  for (const [stage, units] of Object.entries(s.deliverables)) {
    const u: Record<string, Record<string, DeliverableRecord>> = {};
    for (const [unit, ds] of Object.entries(units)) {
      const r: Record<string, DeliverableRecord> = {};
      for (const [id, rec] of Object.entries(ds)) r[id] = { ...rec };
      u[unit] = r;
    }
    deliverables[stage] = u;
  }
  const evaluations: Record<string, CampaignEvaluation> = {};
  for (const [id, e] of Object.entries(s.evaluations)) {
    evaluations[id] = { ...e, groups: Object.fromEntries(Object.entries(e.groups).map(([g, c]) => [g, { ...c }])) };
  }
  return {
    ...s,
    deliverables,
    evaluations,
    stages: s.stages.slice(),
    idempotency: new Map([...s.idempotency].map(([k, v]) => [k, { ...v }])),
  };
}
