import type { EventStore } from '../event-store/event-store.port';
import type { AuditFinding } from './domain/findings';

/**
 * Progress of a long audit, for a terminal progress bar (the CLI) or nothing (the API).
 * `start` opens a phase of `total` units (events, streams); `advance` moves it on.
 */
export interface AuditProgress {
  start(label: string, total: number): void;
  advance(by?: number): void;
  stop(): void;
}

export const SILENT_PROGRESS: AuditProgress = { start: () => undefined, advance: () => undefined, stop: () => undefined };

/** An audit limited to some campaigns; the whole log when absent. */
export interface AuditScope {
  campaigns?: string[];
}

/** The last event of an intact stream: what a later verify can be anchored to (see the anchors check). */
export interface StreamHead {
  stream: string;
  campaign?: string;
  revision: number;
  eventId: string;
  hash: string;
}

export interface AuditCheckResult {
  check: string;
  description: string;
  ok: boolean;
  /** What the check covered, e.g. { streams: 12, events: 5321 }. */
  checked: Record<string, number>;
  findings: AuditFinding[];
  /** Why the check did not run (e.g. it needs the whole log and the audit is limited to campaigns). */
  skipped?: string;
  /** Heads of the intact streams, from the checks that read whole streams. */
  heads?: StreamHead[];
}

/**
 * One verification of the store. The global verify is a list of these, so new kinds of evidence
 * (published evaluation tallies recomputed from their ballots, read models compared with the
 * replay) are added as new checks without touching the others.
 */
export interface AuditCheck {
  readonly name: string;
  readonly description: string;
  /** Skip this check when an earlier one found the log itself damaged. */
  readonly requiresIntactLog?: boolean;
  run(store: EventStore, progress: AuditProgress, scope?: AuditScope): Promise<AuditCheckResult>;
}

export interface AuditReport {
  ok: boolean;
  checkedAt: string;
  /** The store kind (sqlite, postgres, kurrentdb). */
  store: string;
  scope: { campaigns: string[] } | 'all';
  checks: AuditCheckResult[];
  /** Every finding of every check, in check order. */
  findings: AuditFinding[];
  heads: StreamHead[];
}

/** Runs the checks one after the other; the report is ok only when every check ran and found nothing. */
export async function runAudit(
  store: EventStore,
  checks: AuditCheck[],
  options: { storeKind: string; now: Date; progress?: AuditProgress; scope?: AuditScope },
): Promise<AuditReport> {
  const progress = options.progress ?? SILENT_PROGRESS;
  const results: AuditCheckResult[] = [];
  try {
    for (const check of checks) {
      if (check.requiresIntactLog && results.some((r) => r.findings.length > 0)) {
        results.push({ check: check.name, description: check.description, ok: true, checked: {}, findings: [], skipped: 'the log itself has findings; this check needs an intact log' });
        continue;
      }
      results.push(await check.run(store, progress, options.scope));
    }
  } finally {
    progress.stop();
  }
  const findings = results.flatMap((r) => r.findings);
  return {
    ok: results.every((r) => r.ok),
    checkedAt: options.now.toISOString(),
    store: options.storeKind,
    scope: options.scope?.campaigns ? { campaigns: options.scope.campaigns } : 'all',
    checks: results,
    findings,
    heads: results.flatMap((r) => r.heads ?? []),
  };
}
