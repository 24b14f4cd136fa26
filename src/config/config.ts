import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface DocketConfig {
  port: number;
  host: string;
  dataDir: string;
  workflowsDir: string;
  store: 'sqlite' | 'postgres' | 'kurrentdb';
  databaseUrl?: string;
  /** PostgreSQL schema for the store's tables (DOCKET_PG_SCHEMA, default public). */
  postgresSchema: string;
  /** Where read models live: beside the log by default (PostgreSQL tables with the postgres store, else an SQLite file in the data dir). */
  readModels: 'sqlite' | 'postgres';
  kurrentdbUrl?: string;
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** Group commits on a writer thread (DOCKET_SQLITE_WRITER_THREAD, default true; docs/operations.md). */
  sqliteWriterThread: boolean;
  /**
   * The projector runs on a thread of its own, with its own connections to the store and the read
   * models (DOCKET_PROJECTION_THREAD; docs/operations.md): the event loop that serves requests does
   * not fold and write read models. Default true with the embedded store and SQLite read models,
   * where it was measured; false with a server store or PostgreSQL read models.
   */
  projectionThread: boolean;
  jwtSecret: string;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /**
   * Most campaign states kept in memory (least recently used are dropped; a dropped one costs
   * its next load a fold from its snapshot or the log). Bounds memory: docs/operations.md, "Memory".
   */
  cacheCampaigns: number;
  /**
   * Most heap the cached campaign states may take, in MiB, by their estimated weight
   * (src/campaigns/state-weight.ts; DOCKET_CACHE_MB, default 32): a second bound beside the count.
   */
  cacheMb: number;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** How often the reminder scheduler scans the due index (DOCKET_REMINDER_INTERVAL_MS; 0 turns it off). */
  reminderIntervalMs: number;
  /** The bureau's timezone, for times shown to people (DOCKET_TIMEZONE, IANA name). Events stay in UTC. */
  timezone: string;
  /** Webhook and e-mail delivery (docs/webhooks.md). */
  delivery: DeliveryConfig;
}

/** What opening the store and the read models takes (createEventStore, createReadModelDb): all a projection thread is given. */
export type StorageConfig = Pick<DocketConfig, 'store' | 'dataDir' | 'databaseUrl' | 'postgresSchema' | 'readModels' | 'kurrentdbUrl' | 'sqliteSynchronous' | 'sqliteWriterThread'>;

export function storageConfig(c: DocketConfig): StorageConfig {
  return {
    store: c.store,
    dataDir: c.dataDir,
    databaseUrl: c.databaseUrl,
    postgresSchema: c.postgresSchema,
    readModels: c.readModels,
    kurrentdbUrl: c.kurrentdbUrl,
    sqliteSynchronous: c.sqliteSynchronous,
    sqliteWriterThread: c.sqliteWriterThread,
  };
}

export interface DeliveryConfig {
  /** How often the dispatcher polls the outbox (DOCKET_WEBHOOK_INTERVAL_MS; 0 turns the loop off). */
  intervalMs: number;
  /** First retry delay; doubled per failed attempt (DOCKET_WEBHOOK_BACKOFF_MS). */
  backoffMs: number;
  /** Longest retry delay (DOCKET_WEBHOOK_BACKOFF_MAX_MS). */
  backoffMaxMs: number;
  /** Attempts before a delivery is given up as failed (DOCKET_WEBHOOK_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** One HTTP request or SMTP conversation may take this long (DOCKET_WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Key material that seals webhook secrets in the log (DOCKET_WEBHOOK_KEY); the JWT secret when unset. */
  secretKey?: string;
  /** Settled deliveries are pruned from the outbox this many days after their reminder (DOCKET_OUTBOX_RETENTION_DAYS; 0 keeps them all). */
  retentionDays: number;
  /** smtp://user:pass@host:port or smtps://… (DOCKET_SMTP_URL); no e-mail without it. */
  smtpUrl?: string;
  /** The From address of reminder e-mails (DOCKET_MAIL_FROM). */
  mailFrom?: string;
  /** unit id → addresses, from the file DOCKET_UNIT_EMAILS names (JSON or YAML map). */
  unitEmails: Record<string, string[]>;
  /** Where escalations go (DOCKET_LEADING_GROUP_EMAIL, comma-separated). */
  leadingGroupEmails: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const int = (problems: string[], name: string, raw: string | undefined, fallback: number, min: number, max: number) => {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
    return fallback;
  }
  return n;
};

/**
 * Reads and checks the environment once, at boot. Every problem is reported together,
 * by variable name, before anything starts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): DocketConfig {
  const problems: string[] = [];
  const dataDir = resolve(cwd, env.DOCKET_DATA_DIR || 'data');
  const workflowsDir = resolve(cwd, env.DOCKET_WORKFLOWS_DIR || 'workflows');
  const store = (env.DOCKET_STORE || 'sqlite') as DocketConfig['store'];
  if (!['sqlite', 'postgres', 'kurrentdb'].includes(store)) {
    problems.push(`DOCKET_STORE must be sqlite, postgres or kurrentdb, got "${env.DOCKET_STORE}"`);
  }
  if (store === 'postgres' && !env.DATABASE_URL) problems.push('DOCKET_STORE=postgres needs DATABASE_URL (postgres://user@host:5432/db)');
  if (store === 'kurrentdb' && !env.KURRENTDB_URL) problems.push('DOCKET_STORE=kurrentdb needs KURRENTDB_URL (kurrentdb://host:2113?tls=false)');
  if (env.DOCKET_PG_SCHEMA !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(env.DOCKET_PG_SCHEMA)) {
    problems.push(`DOCKET_PG_SCHEMA must be a lower-case SQL identifier, got "${env.DOCKET_PG_SCHEMA}"`);
  }
  const readModels = (env.DOCKET_READ_MODELS || (store === 'postgres' ? 'postgres' : 'sqlite')) as DocketConfig['readModels'];
  if (readModels !== 'sqlite' && readModels !== 'postgres') problems.push(`DOCKET_READ_MODELS must be sqlite or postgres, got "${env.DOCKET_READ_MODELS}"`);
  if (readModels === 'postgres' && !env.DATABASE_URL) problems.push('DOCKET_READ_MODELS=postgres needs DATABASE_URL');
  const sync = (env.DOCKET_SQLITE_SYNCHRONOUS || 'FULL').toUpperCase();
  if (sync !== 'FULL' && sync !== 'NORMAL') problems.push(`DOCKET_SQLITE_SYNCHRONOUS must be FULL or NORMAL, got "${env.DOCKET_SQLITE_SYNCHRONOUS}"`);
  const writerThread = (env.DOCKET_SQLITE_WRITER_THREAD || 'true').toLowerCase();
  if (writerThread !== 'true' && writerThread !== 'false') {
    problems.push(`DOCKET_SQLITE_WRITER_THREAD must be true or false, got "${env.DOCKET_SQLITE_WRITER_THREAD}"`);
  }
  const projectionThread = (env.DOCKET_PROJECTION_THREAD || (store === 'sqlite' && readModels === 'sqlite' ? 'true' : 'false')).toLowerCase();
  if (projectionThread !== 'true' && projectionThread !== 'false') {
    problems.push(`DOCKET_PROJECTION_THREAD must be true or false, got "${env.DOCKET_PROJECTION_THREAD}"`);
  }
  const logLevel = (env.DOCKET_LOG_LEVEL || 'info') as DocketConfig['logLevel'];
  if (!['silent', 'error', 'warn', 'info', 'debug'].includes(logLevel)) {
    problems.push(`DOCKET_LOG_LEVEL must be silent, error, warn, info or debug, got "${env.DOCKET_LOG_LEVEL}"`);
  }
  const timezone = env.DOCKET_TIMEZONE || 'Asia/Shanghai';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    problems.push(`DOCKET_TIMEZONE must be an IANA timezone such as Asia/Shanghai, got "${timezone}"`);
  }
  const secret = env.DOCKET_JWT_SECRET;
  if (secret !== undefined && secret.length < 32) problems.push('DOCKET_JWT_SECRET must be at least 32 characters');
  const config: DocketConfig = {
    port: int(problems, 'PORT', env.PORT, 3000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    dataDir,
    workflowsDir,
    store,
    databaseUrl: env.DATABASE_URL,
    postgresSchema: env.DOCKET_PG_SCHEMA || 'public',
    readModels,
    kurrentdbUrl: env.KURRENTDB_URL,
    sqliteSynchronous: sync as 'FULL' | 'NORMAL',
    sqliteWriterThread: writerThread === 'true',
    projectionThread: projectionThread === 'true',
    jwtSecret: secret ?? '',
    bodyLimit: int(problems, 'DOCKET_BODY_LIMIT', env.DOCKET_BODY_LIMIT, 1024 * 1024, 1024, 64 * 1024 * 1024),
    cacheCampaigns: int(problems, 'DOCKET_CACHE_CAMPAIGNS', env.DOCKET_CACHE_CAMPAIGNS, 4000, 1, 10_000_000),
    cacheMb: int(problems, 'DOCKET_CACHE_MB', env.DOCKET_CACHE_MB, 32, 1, 1_048_576),
    logLevel,
    reminderIntervalMs: int(problems, 'DOCKET_REMINDER_INTERVAL_MS', env.DOCKET_REMINDER_INTERVAL_MS, 60_000, 0, 86_400_000),
    timezone,
    delivery: deliveryConfig(problems, env, cwd),
  };
  if (problems.length) throw new ConfigError(problems);
  if (!config.jwtSecret) config.jwtSecret = dataDirSecret(dataDir);
  return config;
}

const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+$/;
const UNIT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function deliveryConfig(problems: string[], env: NodeJS.ProcessEnv, cwd: string): DeliveryConfig {
  const key = env.DOCKET_WEBHOOK_KEY;
  if (key !== undefined && key !== '' && key.length < 32) problems.push('DOCKET_WEBHOOK_KEY must be at least 32 characters');
  const smtpUrl = env.DOCKET_SMTP_URL || undefined;
  if (smtpUrl) {
    let protocol = '';
    try {
      protocol = new URL(smtpUrl).protocol;
    } catch {
      /* reported below */
    }
    if (protocol !== 'smtp:' && protocol !== 'smtps:') problems.push('DOCKET_SMTP_URL must be smtp://user:pass@host:port or smtps://…');
    if (!env.DOCKET_MAIL_FROM) problems.push('DOCKET_SMTP_URL needs DOCKET_MAIL_FROM (the From address of reminder e-mails)');
  }
  const mailFrom = env.DOCKET_MAIL_FROM || undefined;
  if (mailFrom && !EMAIL.test(mailFrom.replace(/^.*<([^>]*)>\s*$/, '$1'))) problems.push(`DOCKET_MAIL_FROM must be an e-mail address, got "${mailFrom}"`);
  const leadingGroupEmails = (env.DOCKET_LEADING_GROUP_EMAIL ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  for (const a of leadingGroupEmails) if (!EMAIL.test(a)) problems.push(`DOCKET_LEADING_GROUP_EMAIL must be comma-separated e-mail addresses, got "${a}"`);
  const unitEmails: Record<string, string[]> = {};
  if (env.DOCKET_UNIT_EMAILS) {
    const file = resolve(cwd, env.DOCKET_UNIT_EMAILS);
    let map: unknown;
    try {
      map = parseYaml(readFileSync(file, 'utf8'));
    } catch (e) {
      problems.push(`DOCKET_UNIT_EMAILS: cannot read ${file}: ${(e as Error).message}`);
    }
    if (map !== undefined && (map === null || typeof map !== 'object' || Array.isArray(map))) {
      problems.push(`DOCKET_UNIT_EMAILS: ${file} must map unit ids to an e-mail address or a list of them`);
    } else if (map) {
      for (const [unit, value] of Object.entries(map)) {
        const list = Array.isArray(value) ? value : [value];
        if (!UNIT_ID.test(unit)) problems.push(`DOCKET_UNIT_EMAILS: ${file}: "${unit}" is not a unit id`);
        else if (list.length === 0 || !list.every((a) => typeof a === 'string' && EMAIL.test(a))) problems.push(`DOCKET_UNIT_EMAILS: ${file}: ${unit} must be an e-mail address or a list of them`);
        else unitEmails[unit] = list;
      }
    }
  }
  return {
    intervalMs: int(problems, 'DOCKET_WEBHOOK_INTERVAL_MS', env.DOCKET_WEBHOOK_INTERVAL_MS, 1000, 0, 3_600_000),
    backoffMs: int(problems, 'DOCKET_WEBHOOK_BACKOFF_MS', env.DOCKET_WEBHOOK_BACKOFF_MS, 1000, 1, 3_600_000),
    backoffMaxMs: int(problems, 'DOCKET_WEBHOOK_BACKOFF_MAX_MS', env.DOCKET_WEBHOOK_BACKOFF_MAX_MS, 3_600_000, 1, 7 * 86_400_000),
    maxAttempts: int(problems, 'DOCKET_WEBHOOK_MAX_ATTEMPTS', env.DOCKET_WEBHOOK_MAX_ATTEMPTS, 12, 1, 1000),
    timeoutMs: int(problems, 'DOCKET_WEBHOOK_TIMEOUT_MS', env.DOCKET_WEBHOOK_TIMEOUT_MS, 10_000, 100, 300_000),
    retentionDays: int(problems, 'DOCKET_OUTBOX_RETENTION_DAYS', env.DOCKET_OUTBOX_RETENTION_DAYS, 90, 0, 36_500),
    secretKey: key || undefined,
    smtpUrl,
    mailFrom,
    unitEmails,
    leadingGroupEmails,
  };
}

/** A secret generated once into the data dir, so tokens survive restarts without any setup. */
export function dataDirSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}
