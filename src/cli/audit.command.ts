import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, DocketConfig, loadConfig } from '../config/config';
import { createEventStore } from '../event-store/event-store.factory';
import { EventStore, StoreUnavailableError } from '../event-store/event-store.port';
import { AuditReport, runAudit, StreamHead } from '../audit/audit-check';
import { auditChecks } from '../audit/audit-checks';
import { createReadModelDb } from '../projections/read-model-db.factory';
import { parseAnchors } from '../audit/checks/anchors.check';
import { AuditUsageError, ExportRefusedError, exportCampaign, replayCampaign } from '../audit/campaign-audit';
import { BundleVerification, keyId, verifyBundle } from '../audit/domain/bundle';
import { deliverableRows, summarizeCampaign, CampaignSummary } from '../audit/domain/campaign-summary';
import type { AuditFinding } from '../audit/domain/findings';
import { progressWanted, terminalProgress } from './progress';

/** 0: everything checks; 1: a check failed (the evidence is not intact); 2: usage, configuration or store errors. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A mistake in how the command was called; exits 2. */
class UsageError extends Error {}

const CAMPAIGN_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

function campaignArg(value: string): string {
  if (!CAMPAIGN_ID.test(value)) throw new InvalidArgumentError('a campaign id is 1-64 lower-case letters, digits or "-"');
  return value;
}

function instantArg(value: string): Date {
  const t = Date.parse(value);
  if (!ISO_INSTANT.test(value) || Number.isNaN(t)) throw new InvalidArgumentError('use an ISO-8601 date or date-time with a zone, e.g. 2013-10-01T00:00:00Z');
  return new Date(t);
}

function revisionArg(value: string): number {
  const n = Number(value);
  if (!/^\d{1,15}$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('a revision is a whole number from 0');
  return n;
}

function version(): string {
  try {
    return String(JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version);
  } catch {
    return 'unknown';
  }
}

interface OpenedStore {
  store: EventStore;
  config: DocketConfig;
  /** Where the store is, for people: a file, or a server with its password hidden. */
  where: string;
}

/**
 * The store the service would use (same variables), opened directly: the service may be stopped.
 * A missing SQLite file is an error, not a new empty store an auditor would then find "intact".
 */
function openStore(): OpenedStore {
  // The audit commands mint no tokens: a placeholder keeps loadConfig from writing a secret into the data dir.
  const config = loadConfig({ ...process.env, DOCKET_JWT_SECRET: process.env.DOCKET_JWT_SECRET || 'audit-commands-need-no-token-secret' });
  let where: string;
  if (config.store === 'sqlite') {
    const file = join(config.dataDir, 'docket.sqlite');
    if (!existsSync(file)) throw new UsageError(`there is no SQLite store at ${file}; set DOCKET_DATA_DIR to the service's data directory`);
    where = file;
  } else if (config.store === 'postgres') {
    where = `${hidePassword(config.databaseUrl!)} (schema ${config.postgresSchema})`;
  } else {
    where = hidePassword(config.kurrentdbUrl ?? '');
  }
  return { store: createEventStore(config), config, where };
}

function hidePassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : text + '\n');
const json = (value: unknown) => out(JSON.stringify(value, null, 2));
const n = (x: number) => x.toLocaleString('en-US');

/** Runs an action; maps every outcome to the exit codes above, as JSON too when --json was asked for. */
function action<A extends unknown[]>(work: (...args: A) => Promise<number>) {
  return async (...args: A) => {
    const opts = args.find((a) => a && typeof a === 'object' && !(a instanceof Command)) as { json?: boolean } | undefined;
    try {
      process.exitCode = await work(...args);
    } catch (error) {
      const known =
        error instanceof UsageError ||
        error instanceof AuditUsageError ||
        error instanceof ConfigError ||
        error instanceof StoreUnavailableError ||
        error instanceof InvalidArgumentError;
      const message = (error as Error).message;
      if (opts?.json) json({ ok: false, error: { code: (error as { code?: string }).code ?? (known ? 'USAGE' : 'ERROR'), message } });
      process.stderr.write(`error: ${message}\n`);
      process.exitCode = EXIT.usage;
    }
  };
}

/** Commander's own usage errors (unknown option, missing argument) exit 2 as well; help exits 0. */
function usageExits(cmd: Command): Command {
  return cmd.exitOverride((err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));
}

function printFinding(f: AuditFinding, indent = '    ') {
  out(`${indent}- [${f.kind}] ${f.message}`);
}

function printReport(report: AuditReport, where: string) {
  out(`Docket audit of the ${report.store} store ${where}${report.scope === 'all' ? '' : `, campaign ${report.scope.campaigns.join(', ')}`}`);
  for (const c of report.checks) {
    const covered = Object.entries(c.checked)
      .filter(([k]) => k !== 'lastPosition')
      .map(([k, v]) => `${n(v)} ${k}`)
      .join(', ');
    if (c.skipped) out(`  -- ${c.check.padEnd(8)} skipped: ${c.skipped}`);
    else if (c.ok) out(`  ok ${c.check.padEnd(8)} ${covered}: ${c.description}`);
    else {
      out(`  !! ${c.check.padEnd(8)} ${covered}: ${c.findings.length} problem(s)`);
      for (const f of c.findings) printFinding(f);
    }
  }
  out(report.ok ? 'OK: everything checks' : `FAILED: ${report.findings.length} problem(s)`);
}

function printSummary(s: CampaignSummary, indent = '  ', withTitle = true) {
  if (withTitle) out(`${indent}campaign ${s.campaign} “${s.title}” (${s.workflow.id} v${s.workflow.version})`);
  out(`${indent}stage ${s.stage}, ${s.status}, revision ${s.revision}, ${n(s.units)} units, launched ${s.launchedAt}${s.completedAt ? `, completed ${s.completedAt}` : ''}`);
  out(`${indent}stages: ${s.stages.map((v) => `${v.stage} (${v.enteredAt}${v.event ? ` ${v.event}` : ''}${v.by ? ` by ${v.by}` : ''})`).join(' → ')}`);
  for (const [stage, ds] of Object.entries(s.deliverables)) {
    for (const [d, c] of Object.entries(ds)) {
      out(`${indent}  ${stage} / ${d}: ${c.approved} approved, ${c.submitted} submitted, ${c.returned} returned, ${c.missing} missing`);
    }
  }
}

function printBundle(file: string, v: BundleVerification) {
  const h = v.header;
  out(`Bundle ${file}${h ? `: campaign ${h.campaign}, exported ${h.exportedAt} from ${h.store} by ${h.exportedBy}` : ''}`);
  const sig = v.signature;
  out(
    `  signature: ${
      !sig.present
        ? 'none (unsigned bundle)'
        : sig.verified
          ? `verified, key ${sig.keyId}${sig.pinned ? ' (the key given with --public-key)' : ' (not pinned: pass --public-key to check who signed)'}`
          : `does NOT verify${sig.keyId ? ` (key ${sig.keyId})` : ''}`
    }`,
  );
  out(`  events: ${n(v.events)}${v.headHash ? `, head hash ${v.headHash}` : ''}`);
  if (v.summary) {
    out('  replay: ok');
    printSummary(v.summary, '    ');
  }
  for (const f of v.findings) printFinding(f, '  ');
  out(v.ok ? 'OK: the bundle is intact' : `FAILED: ${v.findings.length} problem(s)`);
}

/** `docket verify`, `replay`, `export`, `keygen`: the auditor's commands, on the store directly (no service, no Nest). */
export function registerAuditCommands(program: Command): void {
  usageExits(
    program
      .command('verify')
      .description(
        'Verify the log: every hash chain, stream head and campaign replay, and no event missing from the global order. ' +
          'Exit 0 only when everything checks, 1 when something does not, 2 on usage or store errors',
      )
      .argument('[campaign]', 'only this campaign (default: the whole log)', campaignArg)
      .option('--all', 'the whole log (the default without a campaign)')
      .option('--bundle <file>', 'verify an exported bundle offline instead (no store needed)')
      .option('--public-key <pem>', 'with --bundle: the signer\'s public key; the bundle must be signed by it')
      .option('--heads <file>', 'also check the heads anchored in a saved `verify --json` report or a bundle')
      .option('--json', 'machine-readable output on stdout')
      .option('--no-progress', 'no progress bar'),
  ).action(
    action(async (campaign: string | undefined, opts: { all?: boolean; bundle?: string; publicKey?: string; heads?: string; json?: boolean; progress?: boolean }) => {
      if (opts.bundle) {
        if (campaign || opts.all || opts.heads) throw new UsageError('--bundle verifies a file offline; it takes no campaign, --all or --heads');
        return verifyBundleFile(opts.bundle, opts);
      }
      if (opts.publicKey) throw new UsageError('--public-key goes with --bundle');
      if (campaign && opts.all) throw new UsageError('give a campaign or --all, not both');
      let anchors: StreamHead[] | undefined;
      if (opts.heads) {
        try {
          anchors = parseAnchors(readFileSync(opts.heads, 'utf8'));
        } catch (e) {
          throw new UsageError(`--heads ${opts.heads}: ${(e as Error).message}`);
        }
      }
      const { store, config, where } = openStore();
      // Read models are compared when there are any (an SQLite data dir the service never ran on has none).
      const readModels =
        config.readModels === 'sqlite' && !existsSync(join(config.dataDir, 'read-models.sqlite')) ? undefined : createReadModelDb(config);
      try {
        // Only read models that exist are compared (the CLI creates nothing: no DDL, no locks on a live database).
        const present = readModels ? await readModels.all('SELECT position FROM rm_checkpoints LIMIT 1').then(() => true, () => false) : false;
        const report = await runAudit(store, auditChecks({ storeKind: config.store, anchors, readModels: present ? readModels : undefined }), {
          storeKind: config.store,
          now: new Date(),
          progress: terminalProgress(progressWanted(opts)),
          scope: campaign ? { campaigns: [campaign] } : undefined,
        });
        if (opts.json) json(report);
        else printReport(report, where);
        return report.ok ? EXIT.ok : EXIT.failed;
      } finally {
        await readModels?.close();
        await store.close();
      }
    }),
  );

  usageExits(
    program
      .command('replay')
      .description('The campaign as it was, folded from the log: now, at a revision (judged at its time) or at an instant')
      .argument('<campaign>', 'the campaign id', campaignArg)
      .addOption(new Option('--at <iso>', 'as it was at this instant (events that occurred at or before it)').argParser(instantArg).conflicts('revision'))
      .addOption(new Option('--revision <n>', 'as it was right after this revision').argParser(revisionArg))
      .option('--json', 'machine-readable output on stdout: the campaign as GET /api/campaigns/:id/state shows it, every unit\'s deliverables, the chain')
      .option('--no-progress', 'no progress bar'),
  ).action(
    action(async (campaign: string, opts: { at?: Date; revision?: number; json?: boolean; progress?: boolean }) => {
      const { store } = openStore();
      try {
        const r = await replayCampaign(store, campaign, { at: opts.at, revision: opts.revision, now: new Date() }, terminalProgress(progressWanted(opts)));
        const chain = { ok: r.chain.chainOk, events: r.chain.events, headHash: r.chain.headHash, findings: r.chain.findings };
        if (!chain.ok) process.stderr.write(`warning: the hash chain of the events replayed is broken; this state was folded from altered events:\n${chain.findings.map((f) => `  ${f.message}`).join('\n')}\n`);
        if (opts.json) {
          json({ campaign: r.view, judgedAt: r.judgedAt.toISOString(), deliverables: deliverableRows(r.state), chain });
        } else {
          const v = r.view;
          out(`Campaign ${v.id} “${v.title}” (${v.workflow.id} v${v.workflow.version})`);
          out(`  as of revision ${r.last.revision} (event ${r.last.id}, ${r.last.type}, ${r.last.metadata.occurredAt}), judged at ${r.judgedAt.toISOString()}`);
          out(`  stage ${v.stage} (${v.stageTitle.zh} / ${v.stageTitle.en}) since ${v.stageEnteredAt}, ${v.status}${v.deadline ? `, deadline ${v.deadline}${v.overdue ? ' (overdue)' : ''}` : ''}`);
          printSummary(summarizeCampaign(r.state), '  ', false);
          out('  every unit, every deliverable of every stage visited:');
          for (const row of deliverableRows(r.state)) {
            const when = row.version ? ` (v${row.version}, submitted ${row.at}${row.reviewedAt ? `, reviewed ${row.reviewedAt}` : ''})` : '';
            out(`    ${row.stage} / ${row.unit} / ${row.deliverable}: ${row.status}${when}`);
          }
          for (const t of v.transitions) {
            const blockers = t.blockers.map((b) => ('units' in b ? `${b.guard} ${b.deliverable}: ${b.units.join(', ')}` : `${b.guard}`)).join('; ');
            out(`  transition ${t.event} → ${t.target}: ${t.allowed ? 'allowed' : `blocked (${blockers})`}`);
          }
          out(`  hash chain of the ${n(chain.events)} events replayed: ${chain.ok ? `intact, head ${chain.headHash}` : 'BROKEN'}`);
        }
        return chain.ok ? EXIT.ok : EXIT.failed;
      } finally {
        await store.close();
      }
    }),
  );

  usageExits(
    program
      .command('export')
      .description('Write a campaign\'s whole stream as an audit bundle (JSON Lines: header, events, manifest with head hash and digest), optionally signed')
      .argument('<campaign>', 'the campaign id', campaignArg)
      .requiredOption('--out <file>', 'the bundle to write (must not exist)')
      .option('--sign-key <pem>', 'sign the manifest with this Ed25519 private key (see docket keygen)')
      .option('--json', 'machine-readable output on stdout')
      .option('--no-progress', 'no progress bar'),
  ).action(
    action(async (campaign: string, opts: { out: string; signKey?: string; json?: boolean; progress?: boolean }) => {
      const file = resolve(opts.out);
      if (existsSync(file)) throw new UsageError(`${file} exists; choose another --out`);
      let signingKey: KeyObject | undefined;
      if (opts.signKey) {
        try {
          signingKey = createPrivateKey(readFileSync(opts.signKey));
        } catch (e) {
          throw new UsageError(`--sign-key ${opts.signKey}: not a private key (${(e as Error).message})`);
        }
        if (signingKey.asymmetricKeyType !== 'ed25519') throw new UsageError(`--sign-key ${opts.signKey}: an Ed25519 key is needed, not ${signingKey.asymmetricKeyType}`);
      }
      const { store, config } = openStore();
      // Written beside the target and renamed at the end: a refused or failed export leaves no bundle behind.
      const partial = join(dirname(file), `.${basename(file)}.${process.pid}.partial`);
      const fd = openSync(partial, 'wx');
      let bytes = 0;
      try {
        const result = await exportCampaign(
          store,
          campaign,
          (chunk) => {
            bytes += writeSync(fd, chunk);
          },
          { storeKind: config.store, exportedAt: new Date(), exportedBy: `docket ${version()}`, signingKey, progress: terminalProgress(progressWanted(opts)) },
        );
        closeSync(fd);
        renameSync(partial, file);
        if (opts.json) json({ ok: true, file, bytes, manifest: result.manifest, signature: result.signature ? { keyId: result.signature.keyId } : null });
        else {
          out(`exported ${n(result.manifest.events)} events of campaign ${campaign} to ${file} (${n(bytes)} bytes)`);
          out(`  head hash ${result.manifest.headHash}, revision ${result.manifest.lastRevision}`);
          out(`  sha-256 of the content ${result.manifest.linesSha256}`);
          out(result.signature ? `  signed by key ${result.signature.keyId}` : '  not signed (use --sign-key to sign)');
        }
        return EXIT.ok;
      } catch (error) {
        try {
          closeSync(fd);
        } catch {
          /* already closed */
        }
        rmSync(partial, { force: true });
        if (error instanceof ExportRefusedError) {
          if (opts.json) json({ ok: false, findings: error.findings });
          else {
            out(`campaign ${campaign} does not verify, so it was not exported:`);
            for (const f of error.findings) printFinding(f, '  ');
          }
          return EXIT.failed;
        }
        throw error;
      } finally {
        await store.close();
      }
    }),
  );

  usageExits(
    program
      .command('keygen')
      .description('Make an Ed25519 key pair for signing bundles: <out>.pem (private, mode 600) and <out>.pub.pem (give this to auditors)')
      .requiredOption('--out <path>', 'where to write, without the .pem (e.g. keys/bureau-2013)')
      .option('--json', 'machine-readable output on stdout'),
  ).action(
    action(async (opts: { out: string; json?: boolean }) => {
      const base = resolve(opts.out.replace(/\.pem$/, ''));
      const privateFile = `${base}.pem`;
      const publicFile = `${base}.pub.pem`;
      for (const f of [privateFile, publicFile]) if (existsSync(f)) throw new UsageError(`${f} exists; choose another --out`);
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      writeFileSync(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
      const id = keyId(publicKey);
      if (opts.json) json({ privateKey: privateFile, publicKey: publicFile, keyId: id });
      else out(`wrote ${privateFile} (keep it secret) and ${publicFile} (give it to auditors); key id ${id}`);
      return EXIT.ok;
    }),
  );
}

async function verifyBundleFile(file: string, opts: { publicKey?: string; json?: boolean; progress?: boolean }): Promise<number> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let publicKey: KeyObject | undefined;
  if (opts.publicKey) {
    try {
      publicKey = createPublicKey(readFileSync(opts.publicKey));
    } catch (e) {
      throw new UsageError(`--public-key ${opts.publicKey}: not a public key (${(e as Error).message})`);
    }
  }
  const progress = terminalProgress(progressWanted(opts));
  let lines = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) lines += 1;
  progress.start('Verifying the bundle', Math.max(lines - 2, 1));
  const result = verifyBundle(bytes, { publicKey, onEvent: () => progress.advance() });
  progress.stop();
  if (opts.json) json({ file: resolve(file), ...result });
  else printBundle(file, result);
  return result.ok ? EXIT.ok : EXIT.failed;
}
