import type { EventStore } from '../../event-store/event-store.port';
import type { SqlDb } from '../../projections/sql-db';
import { SqlSnapshotStore } from '../../campaigns/campaign-snapshots';
import { campaignStream, RecordedCampaignEvent } from '../../campaigns/domain/campaign-events';
import { replay } from '../../campaigns/domain/campaign-state';
import { restoreSnapshot, takeSnapshot } from '../../campaigns/domain/campaign-snapshot';
import { canonicalJson } from '../domain/hash-chain';
import type { AuditCheck, AuditCheckResult, AuditProgress, AuditScope } from '../audit-check';
import type { AuditFinding } from '../domain/findings';

/** The state a snapshot holds, in one comparable form (keys sorted, Sets and Maps as arrays). */
const comparable = (state: string) => canonicalJson(JSON.parse(state));

/**
 * Every persisted campaign snapshot the service would start from (its event still in the log
 * with the same hash, its format current) compared with the fold of the log up to that event.
 * Snapshots the service would ignore are counted, not reported: they decide nothing.
 */
export class SnapshotsCheck implements AuditCheck {
  readonly name = 'snapshots';
  readonly description = 'every campaign snapshot the service starts loads from equals the replay of the log up to its event';
  readonly requiresIntactLog = true;

  constructor(private readonly db: SqlDb) {}

  async run(store: EventStore, progress: AuditProgress, scope?: AuditScope): Promise<AuditCheckResult> {
    const wanted = scope?.campaigns ? new Set(scope.campaigns) : undefined;
    const snapshots = (await new SqlSnapshotStore(this.db).list()).filter((s) => !wanted || wanted.has(s.campaignId));
    const findings: AuditFinding[] = [];
    let compared = 0;
    let ignored = 0;
    progress.start('Comparing snapshots', snapshots.length);
    for (const s of snapshots) {
      progress.advance();
      const events = (await store.readStream(campaignStream(s.campaignId), { fromRevision: 0, maxCount: s.revision + 1 })) as unknown as RecordedCampaignEvent[];
      const at = events[s.revision];
      if (!at || at.metadata.hash !== s.lastHash || !restoreSnapshot(s)) {
        ignored++;
        continue;
      }
      compared++;
      const expected = comparable(takeSnapshot(replay(events)!).state);
      if (comparable(s.state) !== expected) {
        findings.push({
          check: this.name,
          kind: 'read-model',
          stream: campaignStream(s.campaignId),
          campaign: s.campaignId,
          revision: s.revision,
          eventId: at.id,
          message: `the snapshot of campaign ${s.campaignId} at revision ${s.revision} differs from the replay of the log up to that event; the service would answer from it (delete the row to have it folded again)`,
        });
      }
    }
    progress.stop();
    return { check: this.name, description: this.description, ok: findings.length === 0, checked: { snapshots: compared, ignored }, findings };
  }
}
