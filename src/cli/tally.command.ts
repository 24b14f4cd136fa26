import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/config';
import { createEventStore } from '../event-store/event-store.factory';
import { EventStore } from '../event-store/event-store.port';
import { campaignStream, RecordedCampaignEvent } from '../campaigns/domain/campaign-events';
import { replay } from '../campaigns/domain/campaign-state';
import { auditEvaluation, campaignAnchor } from '../evaluations/domain/audit';
import { evaluationStream, RecordedEvaluationEvent } from '../evaluations/domain/evaluation-events';

/** 0: the published tally is the recount and the log is intact; 1: it is not; 2: usage, configuration or store errors. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
const EVALUATION_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

class UsageError extends Error {}

/**
 * The auditor's recount of one evaluation, straight from a store: the same checks and the
 * same tally functions as GET /api/evaluations/:id/verify, without the service running.
 */
export async function verifyTally(store: EventStore, evaluationId: string) {
  const events = (await store.readStream(evaluationStream(evaluationId))) as unknown as RecordedEvaluationEvent[];
  if (events.length === 0) throw new UsageError(`there is no evaluation ${evaluationId} in this store`);
  const audit = auditEvaluation(events);
  const first = events[0];
  const campaignId = first.type === 'EvaluationOpened' ? first.data.campaignId : null;
  const campaignEvents = campaignId ? ((await store.readStream(campaignStream(campaignId))) as unknown as RecordedCampaignEvent[]) : [];
  const anchor = campaignId ? campaignAnchor(replay(campaignEvents), evaluationId, audit) : null;
  return { ...audit, ok: audit.ok && (anchor?.ok ?? false), campaign: anchor };
}

type Verification = Awaited<ReturnType<typeof verifyTally>>;

function human(r: Verification): string {
  const lines = [
    `evaluation ${r.evaluationId ?? '?'}: ${r.status}, ${r.ballots} ballots counted in ${r.events} events`,
    `  hash chain: ${r.chain.ok ? 'intact' : `broken at revision ${r.chain.firstBadEvent.revision} (${r.chain.firstBadEvent.kind})`}`,
    `  rules: ${r.rules.ok ? 'kept' : `${r.rules.problems.length} problem(s)`}`,
    ...r.rules.problems.map((p) => `    revision ${p.revision}: ${p.problem}`),
  ];
  if (r.recomputed) lines.push(`  recount: ${r.recomputed.tally.cast} of ${r.recomputed.tally.issued} ballots cast (turnout ${r.recomputed.tally.turnout}), tally hash ${r.recomputed.tallyHash}`);
  if (r.published) {
    lines.push(`  published: tally hash ${r.published.tallyHash}${r.published.hashOk ? '' : ' (not the hash of the published tally)'}`);
    lines.push(`  published tally ${r.matches ? 'equals' : 'DIFFERS FROM'} the recount`);
    for (const d of r.differences) lines.push(`    ${d.path}: published ${JSON.stringify(d.published)}, recounted ${JSON.stringify(d.recomputed)}`);
  } else {
    lines.push('  nothing published yet (the evaluation is not closed)');
  }
  if (r.campaign) {
    const c = r.campaign;
    lines.push(`  campaign ${c.id}: ${c.recorded ? 'recorded it' : 'has no record of it'}${c.tallyHashMatches === null ? '' : c.tallyHashMatches ? ', with the same tally hash' : ', with ANOTHER tally hash'}`);
  }
  for (const s of r.recomputed?.tally.subjects ?? []) {
    lines.push(`  ${s.name} (${s.id}): score ${s.score ?? '-'}, ${r.recomputed!.tally.grades.map((g) => `${g} ${s.counts[g]}`).join(', ')}`);
  }
  lines.push(r.ok ? 'OK' : 'FAILED');
  return lines.join('\n') + '\n';
}

/** `docket tally verify <evaluation> [--json]`. */
export function registerTallyCommands(program: Command): void {
  const tally = program.command('tally').description('Democratic evaluation tallies (民主测评): recount them from the log');
  tally
    .command('verify')
    .description('Recount an evaluation from its stored ballots and compare with the published tally (hash chain, rules, campaign anchor)')
    .argument('<evaluation>', 'the evaluation id', (v: string) => {
      if (!EVALUATION_ID.test(v)) throw new InvalidArgumentError('an evaluation id is 1-64 lower-case letters, digits or "-"');
      return v;
    })
    .option('--json', 'print the full report as JSON')
    .action(async (evaluationId: string, opts: { json?: boolean }) => {
      let store: EventStore | undefined;
      try {
        // Recounting mints no tokens: a placeholder keeps loadConfig from writing a secret into the data dir.
        const config = loadConfig({ ...process.env, DOCKET_JWT_SECRET: process.env.DOCKET_JWT_SECRET || 'tally-commands-need-no-token-secret' });
        if (config.store === 'sqlite' && !existsSync(join(config.dataDir, 'docket.sqlite'))) {
          throw new UsageError(`there is no SQLite store in ${config.dataDir}; set DOCKET_DATA_DIR to the service's data directory`);
        }
        store = createEventStore(config);
        const report = await verifyTally(store, evaluationId);
        process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : human(report));
        process.exitCode = report.ok ? EXIT.ok : EXIT.failed;
      } catch (e) {
        process.stderr.write(`${e instanceof ConfigError ? e.message : `error: ${(e as Error).message}`}\n`);
        process.exitCode = EXIT.usage;
      } finally {
        await store?.close().catch(() => undefined);
      }
    });
}
