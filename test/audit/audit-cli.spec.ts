import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ts from 'typescript';
import { Docket, REPO_ROOT, removeDir, startDocket } from '../support/docket-harness';
import { docketCli, dropSchema, PG_URL, run, runSmallCampaign, sqliteTamperer } from './audit-support';

const work = () => mkdtempSync(join(tmpdir(), 'docket-audit-cli-'));

describe('the docket CLI for auditors, on an SQLite data dir', () => {
  let docket: Docket;
  const CAMPAIGN = 'nanming-2013-three-searches';
  let env: Record<string, string>;
  const cli = (...args: string[]) => docketCli(args, env);

  beforeAll(async () => {
    docket = await startDocket();
    await runSmallCampaign(docket, CAMPAIGN, 4);
    env = { DOCKET_DATA_DIR: docket.dataDir };
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
  });

  describe('export and offline verify', () => {
    const dir = work();
    const key = join(dir, 'bureau-2013');
    const bundle = join(dir, 'campaign.docket.jsonl');

    it('makes an Ed25519 key pair, the private half readable by its owner only', async () => {
      const r = await cli('keygen', '--out', key, '--json');
      expect(r.status).toBe(0);
      expect(r.json).toEqual({ privateKey: `${key}.pem`, publicKey: `${key}.pub.pem`, keyId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
      expect(statSync(`${key}.pem`).mode & 0o777).toBe(0o600);
      expect(readFileSync(`${key}.pub.pem`, 'utf8')).toContain('BEGIN PUBLIC KEY');
      expect((await cli('keygen', '--out', key)).status).toBe(2);
    });

    it('exports the campaign as a signed bundle: header, every event as stored, manifest with the head hash', async () => {
      const r = await cli('export', CAMPAIGN, '--out', bundle, '--sign-key', `${key}.pem`, '--json');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const history = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}/history`, { token: docket.auditor })).body;
      expect(r.json).toMatchObject({ ok: true, file: bundle, manifest: { campaign: CAMPAIGN, events: history.events.length, lastRevision: history.revision, headHash: history.events.at(-1).hash }, signature: { keyId: expect.stringMatching(/^sha256:/) } });
      const lines = readFileSync(bundle, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ format: 'docket-bundle', version: 1, campaign: CAMPAIGN, store: 'sqlite', workflow: { id: 'three-searches', version: 1 } });
      expect(lines.slice(1, -1).map((e) => [e.revision, e.id, e.metadata.hash])).toEqual(history.events.map((e: any) => [e.revision, e.id, e.hash]));
      expect(lines[1].data.workflow.stages.map((s: any) => s.id)).toContain('rectification');
      expect(lines.at(-1).signature).toMatchObject({ algorithm: 'ed25519' });
      expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
    });

    it('verifies the bundle on another machine: no store, no data dir, only the file and the public key', async () => {
      const elsewhere = work();
      copyFileSync(bundle, join(elsewhere, 'received.jsonl'));
      copyFileSync(`${key}.pub.pem`, join(elsewhere, 'bureau.pub.pem'));
      const r = await docketCli(['verify', '--bundle', 'received.jsonl', '--public-key', 'bureau.pub.pem', '--json'], { DOCKET_DATA_DIR: join(elsewhere, 'no-such-dir') }, elsewhere);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.json).toMatchObject({
        ok: true,
        campaign: CAMPAIGN,
        events: 14,
        signature: { present: true, verified: true, pinned: true },
        summary: { campaign: CAMPAIGN, stage: 'rectification', status: 'active', revision: 13, units: 4 },
        findings: [],
      });
      expect(existsSync(join(elsewhere, 'no-such-dir'))).toBe(false);
      const human = await docketCli(['verify', '--bundle', 'received.jsonl'], {}, elsewhere);
      expect(human.status).toBe(0);
      expect(human.stdout).toContain('OK: the bundle is intact');
      expect(human.stdout).toContain('rectification / rectification-plan: 4 approved, 0 submitted, 0 returned, 0 missing');
      expect(human.stdout).toContain('not pinned');
    });

    it('fails when one byte of the bundle is changed, wherever it is', async () => {
      const bytes = readFileSync(bundle);
      const text = bytes.toString('latin1');
      const lastLine = text.lastIndexOf('\n', text.length - 2) + 1;
      const places = {
        header: 10,
        launchedDefinition: text.indexOf('rectification-plan'),
        aSubmission: text.indexOf('"type":"DeliverableSubmitted"') + 9,
        manifestHeadHash: text.indexOf('"headHash":"', lastLine) + 12,
        signatureValue: text.indexOf('"value":"', lastLine) + 12,
        finalNewline: bytes.length - 1,
      };
      for (const [where, at] of Object.entries(places)) {
        const changed = Buffer.from(bytes);
        changed[at] = changed[at] === 0x41 ? 0x42 : 0x41;
        const file = join(work(), 'changed.jsonl');
        writeFileSync(file, changed);
        const r = await docketCli(['verify', '--bundle', file, '--public-key', `${key}.pub.pem`, '--json'], {});
        expect([where, r.status, r.json.ok]).toEqual([where, 1, false]);
        expect(r.json.findings.length).toBeGreaterThan(0);
      }
    });

    it('refuses a bundle signed by another key than the one given', async () => {
      const other = join(work(), 'other');
      expect((await cli('keygen', '--out', other)).status).toBe(0);
      const r = await docketCli(['verify', '--bundle', bundle, '--public-key', `${other}.pub.pem`, '--json'], {});
      expect(r.status).toBe(1);
      expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'signature' })]);
    });

    it('refuses an unsigned bundle when a public key is given, and verifies it without one', async () => {
      const unsigned = join(work(), 'unsigned.jsonl');
      expect((await cli('export', CAMPAIGN, '--out', unsigned)).status).toBe(0);
      expect((await docketCli(['verify', '--bundle', unsigned], {})).status).toBe(0);
      const pinned = await docketCli(['verify', '--bundle', unsigned, '--public-key', `${key}.pub.pem`, '--json'], {});
      expect(pinned.status).toBe(1);
      expect(pinned.json.signature).toEqual({ present: false, verified: false, pinned: true });
    });

    it('will not overwrite an existing file', async () => {
      const r = await cli('export', CAMPAIGN, '--out', bundle);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('exists');
    });

    it('accepts a bundle as anchors for a later verify of the store', async () => {
      expect((await cli('verify', '--all', '--heads', bundle)).status).toBe(0);
    });
  });

  it('refuses to export a campaign that does not verify, and leaves no file behind', async () => {
    const id = 'tampered-before-export';
    await runSmallCampaign(docket, id);
    const tamper = sqliteTamperer(docket.dataDir);
    const row = await tamper.row(`campaign-${id}`, 2);
    await tamper.setData(`campaign-${id}`, 2, row.data.replace('查找问题清单', '改过的清单'));
    const dir = work();
    const r = await cli('export', id, '--out', join(dir, 'b.jsonl'), '--json');
    expect(r.status).toBe(1);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'edited', campaign: id, revision: 2, eventId: row.id })]);
    expect(readdirSync(dir)).toEqual([]);
    await tamper.setData(`campaign-${id}`, 2, row.data);
    await tamper.close();
  });

  describe('replay', () => {
    it('shows the campaign at a revision with every unit\'s deliverables, judged at that time', async () => {
      const api = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}/state?revision=6`, { token: docket.auditor })).body;
      const r = await cli('replay', CAMPAIGN, '--revision', '6');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Campaign ${CAMPAIGN}`);
      expect(r.stdout).toContain('as of revision 6');
      expect(r.stdout).toContain('stage rectification (整改落实阶段 / Rectification)');
      expect(r.stdout).toContain('learning / branch-3 / problem-list: submitted (v1, submitted 2013-');
      expect(r.stdout).toContain('rectification / branch-1 / rectification-plan: submitted (v1,');
      expect(r.stdout).toContain('rectification / branch-4 / rectification-plan: missing');
      expect(r.stdout).toMatch(/hash chain of the 7 events replayed: intact/);
      expect((await cli('replay', CAMPAIGN, '--revision', '6', '--json')).json.campaign).toEqual(api);
    });

    it('shows the campaign now when no point is given', async () => {
      const now = (await docket.call('GET', `/api/campaigns/${CAMPAIGN}`, { token: docket.auditor })).body;
      const r = await cli('replay', CAMPAIGN, '--json');
      expect(r.status).toBe(0);
      expect({ ...r.json.campaign, overdue: now.overdue, transitions: now.transitions }).toEqual(now);
    });

    it('answers usage errors with exit code 2', async () => {
      expect((await cli('replay', 'no-such-campaign')).status).toBe(2);
      expect((await cli('replay', CAMPAIGN, '--revision', '999')).status).toBe(2);
      expect((await cli('replay', CAMPAIGN, '--at', '2013-09-01T00:00:00Z', '--revision', '1')).status).toBe(2);
      expect((await cli('replay', CAMPAIGN, '--at', 'yesterday')).status).toBe(2);
      expect((await cli('replay', 'Bad_Id')).status).toBe(2);
      expect((await cli('replay', CAMPAIGN, '--at', '2000-01-01T00:00:00Z')).stderr).toContain('did not exist yet');
    });
  });

  describe('verify', () => {
    it('fails (exit 1) for a campaign that is not in the store', async () => {
      const r = await cli('verify', 'never-launched', '--json');
      expect(r.status).toBe(1);
      expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'not-found', campaign: 'never-launched' })]);
    });

    it('exits 2 when there is no store where the configuration points, instead of verifying an empty new one', async () => {
      const empty = work();
      const r = await docketCli(['verify', '--all'], { DOCKET_DATA_DIR: empty });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('there is no SQLite store at');
      expect(readdirSync(empty)).toEqual([]);
      const asJson = await docketCli(['verify', '--all', '--json'], { DOCKET_DATA_DIR: empty });
      expect(asJson.json).toEqual({ ok: false, error: { code: 'USAGE', message: expect.stringContaining('no SQLite store') } });
    });

    it('exits 2 on usage errors', async () => {
      expect((await cli('verify', CAMPAIGN, '--all')).status).toBe(2);
      expect((await cli('verify', '--bogus')).status).toBe(2);
      expect((await cli('verify', '--bundle', 'x', CAMPAIGN)).status).toBe(2);
      expect((await cli('verify', '--public-key', 'k.pem')).status).toBe(2);
      expect((await cli('verify', '--heads', '/no/such/file')).status).toBe(2);
      expect((await docketCli(['verify'], { DOCKET_STORE: 'oracle' })).status).toBe(2);
      expect((await cli('verify', '--help')).status).toBe(0);
    });

    it('draws a progress bar on a terminal, and none with --json', async () => {
      const inTerminal = (args: string) =>
        run('script', ['-qec', `${process.execPath} ${join(REPO_ROOT, 'bin/docket.js')} ${args}`, '/dev/null'], {
          env: { ...process.env, ...env, COLUMNS: '120' },
        });
      const bar = await inTerminal('verify --all');
      expect(bar.status).toBe(0);
      expect(bar.stdout).toMatch(/Verifying streams\s+\[[█░]+\] 100%/);
      const quiet = await inTerminal('verify --all --json');
      expect(quiet.stdout).not.toContain('Verifying streams');
      const noProgress = await inTerminal('verify --all --no-progress');
      expect(noProgress.stdout).not.toContain('Verifying streams');
    });
  });
});

describe('the docket CLI on PostgreSQL', () => {
  const schema = `audit_cli_${process.pid}_${randomBytes(3).toString('hex')}`;
  const env = { DOCKET_STORE: 'postgres', DATABASE_URL: PG_URL, DOCKET_PG_SCHEMA: schema };
  let docket: Docket;

  beforeAll(async () => {
    docket = await startDocket({ env });
    await runSmallCampaign(docket, 'pg-campaign');
  });
  afterAll(async () => {
    await docket.close();
    removeDir(docket.dataDir);
    await dropSchema(schema);
  });

  it('verifies, replays and exports from the store the same variables name, and the bundle verifies offline', async () => {
    expect((await docketCli(['verify', '--all'], env)).status).toBe(0);
    expect((await docketCli(['replay', 'pg-campaign', '--json'], env)).json.campaign).toMatchObject({ id: 'pg-campaign', revision: 10 });
    const file = join(work(), 'pg.jsonl');
    const exported = await docketCli(['export', 'pg-campaign', '--out', file, '--json'], env);
    expect(exported.status).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8').split('\n')[0]).store).toBe('postgres');
    expect((await docketCli(['verify', '--bundle', file], {})).status).toBe(0);
  });

  it('exits 2 when the server cannot be reached', async () => {
    const r = await docketCli(['verify', '--all'], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/error: .*PostgreSQL/);
  });
});

describe('the auditor\'s commands work without Nest', () => {
  it('src/cli/audit.command.ts and everything it imports load no @nestjs package', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((i) => i.fileName)) {
        if (spec.startsWith('.')) {
          const base = join(file, '..', spec);
          const target = [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f));
          if (target) visit(target);
        } else packages.add(spec);
      }
    };
    visit(join(REPO_ROOT, 'src/cli/audit.command.ts'));
    expect(seen.size).toBeGreaterThan(10);
    expect([...packages].filter((p) => p.startsWith('@nestjs'))).toEqual([]);
  });
});
