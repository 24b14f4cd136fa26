import type { AuditCheck, StreamHead } from './audit-check';
import { AnchorsCheck } from './checks/anchors.check';
import { LogCheck } from './checks/log.check';
import { StreamsCheck } from './checks/streams.check';

/** Stores whose global positions run 1, 2, 3, … with no holes, so a missing position is a deleted event. */
export const DENSE_POSITION_STORES = ['sqlite', 'postgres'];

/**
 * The checks of a global verify, in order. Evaluation tallies and read models join this list as
 * their own AuditCheck implementations once those modules exist.
 */
export function auditChecks(options: { storeKind: string; anchors?: StreamHead[] }): AuditCheck[] {
  const checks: AuditCheck[] = [new StreamsCheck(), new LogCheck({ densePositions: DENSE_POSITION_STORES.includes(options.storeKind) })];
  if (options.anchors) checks.push(new AnchorsCheck(options.anchors));
  return checks;
}
