import type { EventStore } from '../../event-store/event-store.port';
import { auditEvaluation } from '../../evaluations/domain/audit';
import { EVALUATION_STREAM_PREFIX, RecordedEvaluationEvent } from '../../evaluations/domain/evaluation-events';
import type { AuditCheck, AuditCheckResult, AuditProgress, AuditScope } from '../audit-check';
import type { AuditFinding } from '../domain/findings';
import { readStreamPaged } from '../stream-reader';

const PREFIX = EVALUATION_STREAM_PREFIX;

/**
 * Every published evaluation tally recomputed from its ballots with the very functions the
 * close used, and compared with the published one; also the evaluation's own rules (one
 * ballot per token, only while open, nothing in a ballot but group, ratings, nullifier).
 * Catches a tally edited in place even when its hashes were recomputed to match.
 */
export class TalliesCheck implements AuditCheck {
  readonly name = 'tallies';
  readonly description = 'every evaluation: the published tally recounted from its ballots, and the ballots kept the rules';

  async run(store: EventStore, progress: AuditProgress, scope?: AuditScope): Promise<AuditCheckResult> {
    const findings: AuditFinding[] = [];
    let streams = await store.listStreams(PREFIX);
    if (scope?.campaigns) {
      // An evaluation belongs to the campaign named in its opening event.
      const wanted = new Set(scope.campaigns);
      const kept = [];
      for (const s of streams) {
        const [first] = await store.readStream(s.streamId, { maxCount: 1 });
        if (first && wanted.has(String((first.data as { campaignId?: string }).campaignId))) kept.push(s);
      }
      streams = kept;
    }
    progress.start('Recounting tallies', streams.reduce((n, s) => n + s.revision + 1, 0));
    let ballots = 0;
    let closed = 0;
    for (const s of streams) {
      const events: RecordedEvaluationEvent[] = [];
      for await (const e of readStreamPaged(store, s.streamId)) events.push(e as unknown as RecordedEvaluationEvent);
      progress.advance(events.length);
      const audit = auditEvaluation(events);
      ballots += audit.ballots;
      if (audit.status === 'closed') closed += 1;
      const where = { stream: s.streamId, check: this.name };
      if (audit.published && !audit.published.hashOk) {
        findings.push({ ...where, kind: 'tally', message: `${s.streamId}: the published tally does not match its own recorded hash` });
      }
      if (audit.matches === false) {
        const shown = audit.differences.slice(0, 5).map((d) => `${d.path}: published ${JSON.stringify(d.published)}, recounted ${JSON.stringify(d.recomputed)}`);
        findings.push({
          ...where,
          kind: 'tally',
          message: `${s.streamId}: the published tally differs from the recount of its ballots (${shown.join('; ')})`,
          details: { differences: audit.differences },
        });
      }
      for (const p of audit.rules.problems) {
        findings.push({ ...where, kind: 'replay', revision: p.revision, eventId: p.eventId, message: `${s.streamId}, revision ${p.revision}: ${p.problem}` });
      }
    }
    return { check: this.name, description: this.description, ok: findings.length === 0, checked: { evaluations: streams.length, closed, ballots }, findings };
  }
}
