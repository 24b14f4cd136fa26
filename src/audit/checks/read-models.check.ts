import type { EventStore } from '../../event-store/event-store.port';
import { checkReadModels } from '../../projections/consistency-check';
import type { SqlDb } from '../../projections/sql-db';
import type { AuditCheck, AuditCheckResult, AuditProgress, AuditScope } from '../audit-check';

/** Every read model (lists, matrix, inbox) compared with the pure replay of the log, row by row. */
export class ReadModelsCheck implements AuditCheck {
  readonly name = 'read-models';
  readonly description = 'the read models the service answers lists from equal the pure replay of the log up to their checkpoint';
  /** Compared only with an intact log: against a damaged one every difference would be noise. */
  readonly requiresIntactLog = true;

  constructor(private readonly db: SqlDb) {}

  async run(store: EventStore, progress: AuditProgress, scope?: AuditScope): Promise<AuditCheckResult> {
    if (scope?.campaigns) {
      return { check: this.name, description: this.description, ok: true, checked: {}, findings: [], skipped: 'compares the whole log; run without a campaign' };
    }
    let started = false;
    // Up to the read models' checkpoint: a projector that is merely behind (the service is running) is not a finding.
    const report = await checkReadModels(
      store,
      this.db,
      (done, total) => {
        if (!started) {
          progress.start('Comparing read models', total);
          started = true;
        }
        progress.advance();
      },
      { upToCheckpoint: true },
    );
    return {
      check: this.name,
      description: this.description,
      ok: report.ok,
      checked: { campaigns: report.campaigns, checkpoint: report.checkpoint, head: report.head },
      findings: report.differences.map((d) => ({
        check: this.name,
        kind: 'read-model' as const,
        campaign: d.campaign === '*' ? undefined : d.campaign,
        message: `read model ${d.table} of ${d.campaign}, ${d.field}: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.actual)}`,
        details: { ...d },
      })),
    };
  }
}
