import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Ajv, { ErrorObject } from 'ajv';
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, Node, parseDocument } from 'yaml';
import { DomainError } from '../common/domain/domain-error';
import { addDuration, isValidDuration, isZeroDuration } from './domain/duration';
import type { StageDefinition, WorkflowDefinition } from './domain/workflow-definition';

/** The shipped workflows/ folder (the same relative place from src/ and from dist/). */
export const WORKFLOWS_DIR = resolve(__dirname, '../../workflows');
export const WORKFLOW_SCHEMA_PATH = join(WORKFLOWS_DIR, 'workflow.schema.json');
export const workflowSchema: Readonly<Record<string, unknown>> = JSON.parse(readFileSync(WORKFLOW_SCHEMA_PATH, 'utf8'));

export interface WorkflowProblem {
  /** The file (or other origin) the definition came from. */
  source: string;
  /** JSON path inside the definition, e.g. stages[1].transitions[0].target; '' for the whole document. */
  path: string;
  message: string;
  /** 1-based position in the YAML file, when the definition came from one. */
  line?: number;
  column?: number;
}

export function formatProblem(p: WorkflowProblem): string {
  const where = p.line ? ` (line ${p.line}, column ${p.column})` : '';
  return p.path ? `${p.source}: ${p.path}: ${p.message}${where}` : `${p.source}: ${p.message}${where}`;
}

/** Every problem found in one or more definitions; the message is one line per problem, no stack. */
export class WorkflowValidationError extends DomainError {
  constructor(readonly problems: readonly WorkflowProblem[]) {
    super('WORKFLOW_INVALID', problems.map(formatProblem).join('\n'), { problems });
    this.name = 'WorkflowValidationError';
  }
}

type Segment = string | number;
type Locate = (path: readonly Segment[], key?: boolean) => { line: number; column: number } | undefined;
type Report = (path: readonly Segment[], message: string, key?: boolean) => void;

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
// Editor hints (VS Code / yaml-language-server); the loader reuses them for its own messages.
ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
const schemaCheck = ajv.compile(workflowSchema);

/** Reads one YAML file; throws WorkflowValidationError naming the file, the path and the problem. */
export function loadWorkflowFile(path: string): WorkflowDefinition {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WorkflowValidationError([{ source: path, path: '', message: `cannot read: ${(err as Error).message}` }]);
  }
  return parseWorkflow(text, path);
}

/** Parses and validates YAML text; `source` names it in messages. */
export function parseWorkflow(text: string, source: string): WorkflowDefinition {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new WorkflowValidationError(
      doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return { source, path: '', message: `YAML: ${e.message}`, line, column: col };
      }),
    );
  }
  return check(doc.toJS(), source, locator(doc, lineCounter));
}

/** Validates a definition that did not come from a file here (an API body, a CampaignLaunched event). */
export function validateWorkflow(def: unknown, source: string): WorkflowDefinition {
  return check(def, source, () => undefined);
}

/** Every *.yaml / *.yml in `dir` (sorted by name); one error listing all problems of all files. */
export function loadWorkflowsDir(dir: string = WORKFLOWS_DIR): WorkflowDefinition[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort();
  const problems: WorkflowProblem[] = [];
  const defs: WorkflowDefinition[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const path = join(dir, file);
    let def: WorkflowDefinition;
    try {
      def = loadWorkflowFile(path);
    } catch (err) {
      if (!(err instanceof WorkflowValidationError)) throw err;
      problems.push(...err.problems);
      continue;
    }
    const key = `${def.id}@${def.version}`;
    const first = seen.get(key);
    if (first) {
      problems.push({
        source: path,
        path: 'id',
        message: `workflow "${def.id}" version ${def.version} is already defined in ${first}`,
      });
      continue;
    }
    seen.set(key, path);
    defs.push(def);
  }
  if (problems.length) throw new WorkflowValidationError(problems);
  return defs;
}

function check(input: unknown, source: string, locate: Locate): WorkflowDefinition {
  const problems: WorkflowProblem[] = [];
  const report: Report = (path, message, key) => {
    problems.push({ source, path: formatPath(path), message, ...locate(path, key) });
  };
  if (input === null || input === undefined) {
    report([], 'the document is empty');
  } else if (!schemaCheck(input)) {
    for (const e of schemaCheck.errors ?? []) schemaProblem(e, report);
  } else {
    semanticChecks(input as WorkflowDefinition, report);
  }
  if (problems.length) throw new WorkflowValidationError(problems);
  return structuredClone(input) as WorkflowDefinition;
}

function schemaProblem(e: ErrorObject, report: Report): void {
  const path: Segment[] = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const parent = (e.parentSchema ?? {}) as Record<string, any>;
  switch (e.keyword) {
    case 'required':
      return report([...path, e.params.missingProperty], 'is required');
    case 'additionalProperties': {
      const allowed = Object.keys(parent.properties ?? {}).join(', ');
      return report([...path, e.params.additionalProperty], `unknown property (allowed here: ${allowed})`, true);
    }
    case 'pattern':
      return report(path, `${JSON.stringify(e.data)} ${parent.patternErrorMessage ?? `must match ${e.params.pattern}`}`);
    case 'type':
      if (parent.errorMessage) return report(path, parent.errorMessage);
      return report(path, `must be ${article(e.params.type)}, not ${describe(e.data)}`);
    default:
      return report(path, parent.errorMessage ?? e.message ?? e.keyword);
  }
}

function article(type: string): string {
  return type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null (empty)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function semanticChecks(def: WorkflowDefinition, reportProblem: Report): void {
  let count = 0;
  const report: Report = (...args) => (count++, reportProblem(...args));
  const reported = () => count > 0;
  const stageIndex = new Map<string, number>();
  def.stages.forEach((stage, i) => {
    const first = stageIndex.get(stage.id);
    if (first !== undefined) report(['stages', i, 'id'], `duplicate stage id "${stage.id}" (first at stages[${first}])`);
    else stageIndex.set(stage.id, i);
  });
  const stageIds = [...stageIndex.keys()];
  const unknownStage = (id: string) => `unknown stage "${id}"${suggest(id, stageIds)}`;

  if (!stageIndex.has(def.initial)) report(['initial'], unknownStage(def.initial));
  else if (def.stages[stageIndex.get(def.initial)!].final) report(['initial'], `"${def.initial}" is a final stage; a campaign cannot start there`);
  if (!def.stages.some((s) => s.final)) report(['stages'], 'no stage is final: mark the stage that completes the campaign with final: true');

  def.stages.forEach((stage, i) => stageChecks(stage, ['stages', i], unknownStage, stageIndex, report));
  evaluationChecks(def, report);

  // The graph is only worth judging once its stages and targets are sound; else its problems are echoes.
  if (!reported()) graphChecks(def, stageIndex, report);
}

function stageChecks(
  stage: StageDefinition,
  at: Segment[],
  unknownStage: (id: string) => string,
  stageIndex: Map<string, number>,
  report: Report,
): void {
  const deliverables = stage.deliverables ?? [];
  const transitions = stage.transitions ?? [];
  if (stage.final) {
    for (const key of ['transitions', 'deliverables', 'deadline', 'reminders', 'evaluations'] as const) {
      const v = stage[key];
      if (v !== undefined && !(Array.isArray(v) && v.length === 0)) report([...at, key], `a final stage has no ${key}: reaching it completes the campaign`, true);
    }
    return;
  }
  if (transitions.length === 0) {
    report(at, `stage "${stage.id}" is not final and has no transitions: a campaign would stay there for ever`);
  }
  if (stage.reminders && deliverables.length === 0) {
    report([...at, 'reminders'], 'reminders need deliverables: units are reminded of what they have not submitted', true);
  }
  if (stage.deadline !== undefined) durationCheck(stage.deadline, [...at, 'deadline'], report, true);
  for (const key of ['before', 'every', 'escalateAfter'] as const) {
    const d = stage.reminders?.[key];
    if (d !== undefined) durationCheck(d, [...at, 'reminders', key], report, key === 'every');
  }

  const byId = new Map<string, number>();
  deliverables.forEach((d, j) => {
    const first = byId.get(d.id);
    if (first !== undefined) report([...at, 'deliverables', j, 'id'], `duplicate deliverable id "${d.id}" (first at deliverables[${first}])`);
    else byId.set(d.id, j);
  });
  const deliverableIds = [...byId.keys()];
  const evaluations = stage.evaluations ?? [];
  const evaluationIds = evaluations.map((e) => e.id);

  transitions.forEach((t, k) => {
    const tAt = [...at, 'transitions', k];
    if (!stageIndex.has(t.target)) report([...tAt, 'target'], unknownStage(t.target));
    else if (t.target === stage.id) report([...tAt, 'target'], `a transition cannot lead back to its own stage "${stage.id}"`);
    (t.guards ?? []).forEach((g, n) => {
      const gAt = [...tAt, 'guards', n];
      if ('after' in g) {
        const p = g.after as { date?: string; duration?: string };
        if (p.date !== undefined && !isRealDateTime(p.date)) {
          report([...gAt, 'after', 'date'], `${JSON.stringify(p.date)} is not a real date and time`);
        }
        if (p.duration !== undefined) durationCheck(p.duration, [...gAt, 'after', 'duration'], report, false);
        return;
      }
      if ('evaluationClosed' in g || 'minTurnout' in g) {
        const name = 'evaluationClosed' in g ? 'evaluationClosed' : 'minTurnout';
        const params = 'evaluationClosed' in g ? g.evaluationClosed : g.minTurnout;
        const evaluation = evaluations.find((e) => e.id === params.evaluation);
        if (!evaluation) {
          const known = evaluationIds.length ? suggest(params.evaluation, evaluationIds) : '; the stage runs no evaluations (add them under evaluations:)';
          report([...gAt, name, 'evaluation'], `unknown evaluation "${params.evaluation}" in stage "${stage.id}"${known}`);
          return;
        }
        const group = 'minTurnout' in g ? g.minTurnout.group : undefined;
        if (group !== undefined && evaluation.groups && !evaluation.groups.some((x) => x.id === group)) {
          report([...gAt, name, 'group'], `evaluation "${evaluation.id}" has no voter group "${group}"${suggest(group, evaluation.groups.map((x) => x.id))}`);
        }
        return;
      }
      const name = 'allUnitsSubmitted' in g ? 'allUnitsSubmitted' : 'allUnitsApproved';
      const id = 'allUnitsSubmitted' in g ? g.allUnitsSubmitted.deliverable : g.allUnitsApproved.deliverable;
      const dAt = [...gAt, name, 'deliverable'];
      const j = byId.get(id);
      if (j === undefined) {
        const known = deliverableIds.length ? suggest(id, deliverableIds) : '; the stage has no deliverables';
        report(dAt, `unknown deliverable "${id}" in stage "${stage.id}"${known}`);
      } else if (name === 'allUnitsApproved' && !deliverables[j].review) {
        report(dAt, `deliverable "${id}" is not reviewed (review: false), so it can never be approved; set review: true or use allUnitsSubmitted`);
      }
    });
  });
}

/** Evaluation ids are unique in the whole workflow (guards and the API name them without a stage); groups and grades within one. */
function evaluationChecks(def: WorkflowDefinition, report: Report): void {
  const seen = new Map<string, string>();
  def.stages.forEach((stage, i) => {
    (stage.evaluations ?? []).forEach((e, j) => {
      const at: Segment[] = ['stages', i, 'evaluations', j];
      const first = seen.get(e.id);
      if (first !== undefined) report([...at, 'id'], `duplicate evaluation id "${e.id}" (first at ${first}); evaluation ids are unique in the workflow`);
      else seen.set(e.id, formatPath(at));
      const groups = new Map<string, number>();
      (e.groups ?? []).forEach((g, k) => {
        const dup = groups.get(g.id);
        if (dup !== undefined) report([...at, 'groups', k, 'id'], `duplicate voter group "${g.id}" (first at groups[${dup}])`);
        else groups.set(g.id, k);
      });
      const grades = new Map<string, number>();
      (e.scale ?? []).forEach((g, k) => {
        const dup = grades.get(g.id);
        if (dup !== undefined) report([...at, 'scale', k, 'id'], `duplicate grade "${g.id}" (first at scale[${dup}])`);
        else grades.set(g.id, k);
        const prev = e.scale![k - 1];
        if (prev && !(g.score < prev.score)) {
          report([...at, 'scale', k, 'score'], `grades are listed best first: ${g.score} must be below ${prev.score} (the score of "${prev.id}")`);
        }
      });
    });
  });
}

/** No deadline, reminder or guard of a campaign is further away than this (and dates stay in range). */
const LONGEST_DURATION_YEARS = 100;
/** Durations are measured from one instant, so that calendar ones (P1M, P100Y) have a length. */
const DURATION_BASE = new Date(Date.UTC(2000, 0, 1));
const lengthOf = (iso: string) => addDuration(DURATION_BASE, iso).getTime() - DURATION_BASE.getTime();
const LONGEST_DURATION_MS = lengthOf(`P${LONGEST_DURATION_YEARS}Y`);

function durationCheck(value: string, at: Segment[], report: Report, positive: boolean): void {
  if (!isValidDuration(value)) return report(at, `${JSON.stringify(value)} is not an ISO-8601 duration`);
  if (positive && isZeroDuration(value)) return report(at, `${JSON.stringify(value)} is zero; it must be longer`);
  let length: number;
  try {
    length = lengthOf(value);
  } catch {
    length = Number.POSITIVE_INFINITY; // past the last instant a Date can hold
  }
  if (length > LONGEST_DURATION_MS) {
    report(at, `${JSON.stringify(value)} is longer than ${LONGEST_DURATION_YEARS} years`);
  } else if (positive && length < 1) {
    report(at, `${JSON.stringify(value)} is shorter than a millisecond; it must be longer`);
  }
}

/** The schema checked the shape; this checks the calendar (no 30 February, no 25 o'clock). */
function isRealDateTime(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(s);
  if (!m || Number.isNaN(Date.parse(s))) return false;
  const [y, mo, d, h, mi, sec] = m.slice(1).map((x) => Number(x ?? 0));
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  return probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && probe.getUTCHours() === h && mi < 60 && sec < 60;
}

/** Every stage reachable from initial; from every reachable stage, some final stage reachable. */
function graphChecks(def: WorkflowDefinition, stageIndex: Map<string, number>, report: Report): void {
  const next = (id: string) =>
    (def.stages[stageIndex.get(id)!].transitions ?? []).map((t) => t.target).filter((t) => stageIndex.has(t));
  const reachable = new Set<string>([def.initial]);
  for (const queue = [def.initial]; queue.length; ) {
    for (const t of next(queue.shift()!)) if (!reachable.has(t)) reachable.add(t), queue.push(t);
  }
  const finals = def.stages.filter((s) => s.final).map((s) => s.id);
  if (!finals.some((f) => reachable.has(f))) {
    report(['initial'], `no final stage (${finals.join(', ')}) can be reached from "${def.initial}"`);
    return;
  }
  def.stages.forEach((s, i) => {
    if (stageIndex.get(s.id) !== i) return;
    if (!reachable.has(s.id)) {
      report(['stages', i, 'id'], `stage "${s.id}" cannot be reached from the initial stage "${def.initial}"`);
    }
  });
  // Walk backwards from the final stages: a reachable stage that cannot get to one would trap campaigns.
  const canFinish = new Set(finals);
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of def.stages) {
      if (!canFinish.has(s.id) && next(s.id).some((t) => canFinish.has(t))) canFinish.add(s.id), (changed = true);
    }
  }
  def.stages.forEach((s, i) => {
    if (stageIndex.get(s.id) === i && reachable.has(s.id) && !canFinish.has(s.id) && !s.final) {
      report(['stages', i, 'transitions'], `no final stage can be reached from stage "${s.id}": a campaign there could never finish`, true);
    }
  });
}

function suggest(id: string, known: string[]): string {
  const close = known.filter((k) => distance(id, k) <= Math.max(1, Math.floor(k.length / 4)));
  if (close.length) return ` (did you mean "${close[0]}"?)`;
  return known.length ? ` (known: ${known.join(', ')})` : '';
}

/** Edit distance counting a swap of two neighbours as one edit (consolidaton, dnoe). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i ? (j ? 0 : i) : j)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** stages[1].transitions[0].target; keys that are not plain names are quoted: guards[0]["all units"]. */
export function formatPath(path: readonly Segment[]): string {
  return path
    .map((s, i) =>
      typeof s === 'number' ? `[${s}]` : /^[A-Za-z_$][\w$-]*$/.test(s) ? (i ? `.${s}` : s) : `[${JSON.stringify(s)}]`,
    )
    .join('');
}

/** Maps a JSON path to where it is written in the YAML; falls back to the nearest ancestor present. */
function locator(doc: Document, lc: LineCounter): Locate {
  return (path, key) => {
    let node: unknown = doc.contents;
    let offset: number | undefined = (node as Node | null)?.range?.[0];
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      let found: unknown;
      let keyNode: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
        if (pair) (found = pair.value), (keyNode = pair.key);
      } else if (isSeq(node) && typeof seg === 'number') {
        found = node.items[seg];
      }
      const target = key && i === path.length - 1 && keyNode ? keyNode : found;
      const start = (target as Node | null | undefined)?.range?.[0] ?? (keyNode as Node | undefined)?.range?.[0];
      if (start === undefined) break;
      offset = start;
      node = found;
    }
    if (offset === undefined) return undefined;
    const { line, col } = lc.linePos(offset);
    return { line, column: col };
  };
}
