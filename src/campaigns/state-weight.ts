import type { WorkflowDefinition } from '../workflows/domain/workflow-definition';
import type { RecordedCampaignEvent, UnitRef } from './domain/campaign-events';
import type { CampaignEvaluation, CampaignState, DeliverableRecord } from './domain/campaign-state';

/**
 * What a folded campaign state costs in V8's heap, estimated from its shape, so the repository
 * can bound its cache in bytes (DOCKET_CACHE_MB, docs/operations.md "Memory").
 *
 * Calibration (Node 20.20, x64, no pointer compression): a CampaignRepository folded N = 600
 * states per shape from an SQLite log, as the service folds them (36-character ids, the
 * three-searches definition, 100 shared units); heapUsed after forced collections
 * (node --expose-gc) before and after, divided by N, against this estimate:
 *
 *   shape                                             measured     estimated
 *   launched, nothing else                              1,083 B       1,081 B   → state
 *   100 units × 1 submission, one stage                23,218 B      23,381 B   ┐ unitRow + record,
 *   50 units × 1 submission                            12,627 B      12,281 B   │ record alone (its
 *   50 units × 2 deliverables                          17,348 B      17,531 B   ┘ timestamp included)
 *   100 submissions, all approved                      31,322 B      31,381 B   → review
 *   20 stage changes                                    5,432 B       5,581 B   → stageVisit
 *   5 deadlines moved                                   1,291 B       1,321 B   → deadline
 *   50 submissions, an Idempotency-Key each            25,035 B      25,421 B   → idempotencyKey
 *   10 evaluations of 3 groups, open / closed    5,626 / 7,228 B  5,881 / 7,781 B → evaluation…
 *   memory bench: 50 / 70 / 90 of 100 submitted   12,006 / 15,417 / 21,605 B  12,281 / 16,721 / 21,161 B
 *   120 units, four stages in (src/bench/seed.ts)     118,012 B     122,888 B
 *
 * Runs differ by up to 7 % (V8's dictionaries grow in steps: 70 units cost less per unit than
 * 90); the estimate is within 9 % of every shape in that run, 2 % over on the memory bench's
 * mix. Shared parts are weighed apart, once per distinct instance the cache holds (the repository does that):
 * a units list costs `unit` per unit (its object, id, name and Set entry: 108 B measured with 100
 * units in a list of their own), a workflow definition about 1.6–1.8 bytes per character of its
 * JSON (8.3–9.6 KiB measured for the shipped workflows).
 *
 * Strings: V8's JSON.parse shares (internalizes) string values of up to 10 characters: titles such
 * as "单位7问题清单" cost nothing per state; a longer one is its own string, 16 bytes of header then
 * 1 byte a character (ASCII: ids, keys, URLs) or 2 (text that may not be: titles, comments,
 * reasons), rounded up to 8. Fixed-length strings (timestamps, hashes) are inside the constants.
 *
 * Recalibrate (and the spec's shapes still pass) whenever evolve() or CampaignState changes
 * what a state holds.
 */
export const WEIGHTS = Object.freeze({
  /** The state object, its fixed strings (hash, timestamps), its empty maps, the cache's Map entry, its id key. */
  state: 704,
  /** One stage's map of units in the deliverable matrix. */
  stageRow: 100,
  /** One unit's map of deliverables in one stage. */
  unitRow: 117,
  /** One deliverable record and its timestamp. */
  record: 105,
  /** A reviewed record's reviewedAt and the property store it grows into. */
  review: 80,
  /** One entry of the stage history (its actor included); the launch's is one. */
  stageVisit: 225,
  /** One stage with a deadline (its ISO instant). */
  deadline: 48,
  /** One evaluation the campaign opened, its id and timestamp included. */
  evaluation: 330,
  /** One voter group of an evaluation. */
  evaluationGroup: 50,
  /** What closing an evaluation adds (closedAt, cast, tallyHash). */
  evaluationClosed: 190,
  /** One Idempotency-Key entry: its Map slot, range and request hash (the key's own characters apart). */
  idempotencyKey: 150,
  /** One unit of a units list (shared: weighed once per distinct list). */
  unit: 107,
});

/** Heap bytes of a workflow definition (shared: weighed once per distinct definition) per character of its JSON. */
export const DEFINITION_BYTES_PER_CHAR = 1.8;

/** A string's own heap bytes, 0 when JSON.parse shares it (10 characters or fewer). */
function stringBytes(s: unknown, bytesPerChar: 1 | 2): number {
  if (typeof s !== 'string' || s.length <= 10) return 0;
  return (16 + bytesPerChar * s.length + 7) & ~7;
}
const text = (s: unknown) => stringBytes(s, 2);
const token = (s: unknown) => stringBytes(s, 1);

function recordWeight(r: DeliverableRecord): number {
  let w = WEIGHTS.record + text(r.title) + token(r.url);
  if (r.reviewedAt !== undefined) w += WEIGHTS.review + text(r.comment);
  return w;
}

function evaluationWeight(e: CampaignEvaluation): number {
  let w = WEIGHTS.evaluation + text(e.title) + Object.keys(e.groups).length * WEIGHTS.evaluationGroup;
  if (e.status === 'closed') w += WEIGHTS.evaluationClosed;
  return w;
}

/**
 * The estimated heap bytes of a state's own parts (not its definition nor its units list, which
 * states share). A walk of the whole state: for a state entering the cache, not for every command
 * (eventWeight keeps a cached state's weight current).
 */
export function stateWeight(s: CampaignState): number {
  let w = WEIGHTS.state + token(s.id) + text(s.title) + Object.keys(s.deadlines).length * WEIGHTS.deadline;
  for (const v of s.stages) w += WEIGHTS.stageVisit + text(v.reason);
  for (const units of Object.values(s.deliverables)) {
    w += WEIGHTS.stageRow;
    for (const records of Object.values(units)) {
      w += WEIGHTS.unitRow;
      for (const r of Object.values(records)) w += recordWeight(r);
    }
  }
  for (const e of Object.values(s.evaluations)) w += evaluationWeight(e);
  w += s.idempotency.size * WEIGHTS.idempotencyKey;
  for (const key of s.idempotency.keys()) w += token(key);
  return w;
}

/**
 * How much folding `event` into `state` changes stateWeight(state), in O(1) (O(groups) for an
 * evaluation): call it before evolve(state, event), which updates the state in place. Exact with
 * respect to stateWeight: the weight before plus the increments of the events folded since is the
 * weight after. 0 for an event the fold ignores (at or below the state's revision, a second
 * launch) and with no state (a state is weighed whole when it enters the cache).
 */
export function eventWeight(state: CampaignState | null, event: RecordedCampaignEvent): number {
  // evolve ignores these: an event already folded, and a second launch.
  if (!state || event.revision <= state.revision || event.type === 'CampaignLaunched') return 0;
  let w = 0;
  switch (event.type) {
    case 'DeliverableSubmitted': {
      const d = event.data;
      const units = state.deliverables[d.stage];
      const records = units?.[d.unit];
      const old = records?.[d.deliverable];
      w += (units ? 0 : WEIGHTS.stageRow) + (records ? 0 : WEIGHTS.unitRow) + WEIGHTS.record + text(d.title) + token(d.url);
      if (old) w -= recordWeight(old);
      break;
    }
    case 'DeliverableReviewed': {
      const d = event.data;
      const r = state.deliverables[d.stage]?.[d.unit]?.[d.deliverable];
      if (r) w += WEIGHTS.review + text(d.comment) - (r.reviewedAt !== undefined ? WEIGHTS.review + text(r.comment) : 0);
      break;
    }
    case 'StageAdvanced':
      w += WEIGHTS.stageVisit + text(event.data.reason);
      break;
    case 'DeadlineChanged':
      if (!(event.data.stage in state.deadlines)) w += WEIGHTS.deadline;
      break;
    case 'CampaignEvaluationOpened': {
      const d = event.data;
      const old = state.evaluations[d.evaluationId];
      w += WEIGHTS.evaluation + text(d.title) + Object.keys(d.groups).length * WEIGHTS.evaluationGroup;
      if (old) w -= evaluationWeight(old);
      break;
    }
    case 'CampaignEvaluationClosed': {
      const e = state.evaluations[event.data.evaluationId];
      if (!e) break;
      if (e.status !== 'closed') w += WEIGHTS.evaluationClosed;
      for (const g of Object.keys(event.data.groups)) if (!(g in e.groups)) w += WEIGHTS.evaluationGroup;
      break;
    }
  }
  const key = event.metadata.idempotencyKey;
  if (key && !state.idempotency.has(key)) w += WEIGHTS.idempotencyKey + token(key);
  return w;
}

/** The estimated heap bytes of a units list and its id Set (shared by the states launched with equal units). */
export function unitListWeight(units: readonly UnitRef[]): number {
  let w = units.length * WEIGHTS.unit;
  for (const u of units) w += text(u.name);
  return w;
}

/** The estimated heap bytes of a parsed workflow definition (shared by the states launched with an equal one). */
export function definitionWeight(definition: WorkflowDefinition): number {
  return Math.ceil(JSON.stringify(definition).length * DEFINITION_BYTES_PER_CHAR);
}
