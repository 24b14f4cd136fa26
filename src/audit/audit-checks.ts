import type { AuditCheck, StreamHead } from './audit-check';
import { AnchorsCheck } from './checks/anchors.check';
import { LogCheck } from './checks/log.check';
import { StreamsCheck } from './checks/streams.check';
import { TalliesCheck } from './checks/tallies.check';
import { ReadModelsCheck } from './checks/read-models.check';
import { SnapshotsCheck } from './checks/snapshots.check';
import type { SqlDb } from '../projections/sql-db';

/** Stores whose global positions run 1, 2, 3, … with no holes, so a missing position is a deleted event. */
export const DENSE_POSITION_STORES = ['sqlite', 'postgres'];

/**
 * The checks of a global verify, in order: every stream's chain, head and replay; the global
 * order; every published tally recounted; the read models and the campaign snapshots against
 * the replay (when the caller has them); heads saved by an earlier verify or export.
 */
export function auditChecks(options: { storeKind: string; anchors?: StreamHead[]; readModels?: SqlDb }): AuditCheck[] {
  const checks: AuditCheck[] = [new StreamsCheck(), new LogCheck({ densePositions: DENSE_POSITION_STORES.includes(options.storeKind) }), new TalliesCheck()];
  if (options.readModels) checks.push(new ReadModelsCheck(options.readModels), new SnapshotsCheck(options.readModels));
  if (options.anchors) checks.push(new AnchorsCheck(options.anchors));
  return checks;
}
