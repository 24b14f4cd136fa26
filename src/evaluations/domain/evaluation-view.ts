import type { GradeDefinition, LocalizedText } from '../../workflows/domain/workflow-definition';
import type { Subject } from './evaluation-events';
import type { EvaluationState } from './evaluation-state';
import type { Tally } from './tally';

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export interface EvaluationView {
  id: string;
  campaign: string;
  stage: string;
  /** The evaluation's id in the workflow. */
  evaluation: string;
  title: string;
  unit?: string;
  subjectKind: 'leaders' | 'units';
  subjects: Subject[];
  scale: GradeDefinition[];
  groups: { id: string; title: LocalizedText; weight: number; issued: number; cast: number; turnout: number }[];
  status: 'open' | 'closed' | 'cancelled';
  issued: number;
  cast: number;
  turnout: number;
  openedAt: string;
  closedAt?: string;
  revision: number;
  /** Where voters cast their ballots (the token goes after #t=). */
  ballotUrl: string;
  /** Once closed: the published tally and its hash. */
  tally?: Tally;
  tallyHash?: string;
}

/** GET /api/evaluations/:id: the setup, the turnout so far and, once closed, the tally. */
export function evaluationView(s: EvaluationState): EvaluationView {
  const groups = s.groups.map((g, i) => {
    const cast = s.counts.cast[i];
    return { id: g.id, title: g.title, weight: g.weight, issued: g.ballots, cast, turnout: g.ballots ? round6(cast / g.ballots) : 0 };
  });
  const issued = groups.reduce((n, g) => n + g.issued, 0);
  const cast = groups.reduce((n, g) => n + g.cast, 0);
  const view: EvaluationView = {
    id: s.id,
    campaign: s.campaignId,
    stage: s.stage,
    evaluation: s.evaluation,
    title: s.title,
    subjectKind: s.subjectKind,
    subjects: s.subjects,
    scale: s.scale,
    groups,
    status: s.status,
    issued,
    cast,
    turnout: issued ? round6(cast / issued) : 0,
    openedAt: s.openedAt,
    revision: s.revision,
    ballotUrl: `/ballot?e=${encodeURIComponent(s.id)}`,
  };
  if (s.unit !== undefined) view.unit = s.unit;
  if (s.closedAt !== undefined) view.closedAt = s.closedAt;
  if (s.tally) {
    view.tally = s.tally;
    view.tallyHash = s.tallyHash;
  }
  return view;
}
