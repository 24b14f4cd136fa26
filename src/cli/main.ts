import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, ConfigError } from '../config/config';
import { JwtCodec, ROLES, Role } from '../auth/jwt';
import { registerProjectionsCommands } from './projections.command';
import { registerAuditCommands } from './audit.command';
import { registerTallyCommands } from './tally.command';

// `docket … | head` closes stdout early; that is the reader's choice, not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const program = new Command();
program.name('docket').description('Docket: event-sourced campaign workflows for education bureaus');

/** A token lives at most a year and a day: one that never (or practically never) expires is good for ever once leaked. */
const LONGEST_TOKEN_SECONDS = 366 * 86400;

const seconds = (v: string) => {
  const m = /^(\d+)([smhd]?)$/.exec(v);
  if (!m) throw new InvalidArgumentError('use a number with s, m, h or d, e.g. 12h');
  const n = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's']!;
  if (n < 1 || n > LONGEST_TOKEN_SECONDS) throw new InvalidArgumentError('a token lives from 1s to 366d');
  return n;
};

program
  .command('token')
  .description('Mint a bearer token for local use, signed with DOCKET_JWT_SECRET (or the secret in the data dir)')
  .addOption(new Option('--role <role>', 'bureau, unit or auditor').choices([...ROLES]).makeOptionMandatory())
  .requiredOption('--sub <subject>', 'who the token is for, e.g. an e-mail or staff number')
  .option('--unit <unit>', 'the unit a unit user acts for (required with --role unit)')
  .option('--expires <duration>', 'lifetime, e.g. 30m, 12h, 7d (at most 366d)', seconds, 12 * 3600)
  .action((opts: { role: Role; sub: string; unit?: string; expires: number }) => {
    if (opts.role === 'unit' && !opts.unit) program.error('error: --role unit needs --unit <unit>');
    if (opts.role !== 'unit' && opts.unit) program.error('error: --unit is only for --role unit');
    const config = loadConfig();
    const jwt = new JwtCodec(config.jwtSecret);
    process.stdout.write(jwt.mint({ sub: opts.sub, role: opts.role, unit: opts.unit }, { expiresInSeconds: opts.expires }) + '\n');
  });

registerProjectionsCommands(program);
registerAuditCommands(program);
registerTallyCommands(program);

program.parseAsync(process.argv).catch((e) => {
  console.error(e instanceof ConfigError ? e.message : `error: ${(e as Error).message}`);
  process.exit(1);
});
