import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, removeDir } from '../support/docket-harness';

/**
 * The service as a user runs it: the compiled `node dist/main.js` (what `npm start`
 * runs) on the embedded SQLite store, tokens from `docket token`, real HTTP.
 */
const MAIN = join(REPO_ROOT, 'dist/main.js');

interface Running {
  child: ChildProcess;
  url: string;
}

function start(dataDir: string): Promise<Running> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DOCKET_DATA_DIR: dataDir, DOCKET_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${out}`)), 20_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1].replace('[::1]', '127.0.0.1') });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`service exited with ${code}:\n${out}`)));
  });
}

function stop(r: Running, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return resolve();
    r.child.once('exit', () => resolve());
    r.child.kill(signal);
  });
}

function token(dataDir: string, ...args: string[]): string {
  return execFileSync(process.execPath, [join(REPO_ROOT, 'bin/docket.js'), 'token', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DOCKET_DATA_DIR: dataDir },
  })
    .toString()
    .trim();
}

describe('start-up refuses bad input with a message, not a stack trace', () => {
  const run = (env: Record<string, string>) => {
    try {
      execFileSync(process.execPath, [MAIN], { cwd: REPO_ROOT, env: { ...process.env, PORT: '0', ...env }, stdio: 'pipe' });
      return { code: 0, stderr: '' };
    } catch (e: any) {
      return { code: e.status as number, stderr: String(e.stderr) };
    }
  };

  it('stops on an invalid workflow file, naming the file, the path and the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-bad-wf-'));
    const good = readFileSync(join(REPO_ROOT, 'workflows/three-searches.yaml'), 'utf8');
    writeFileSync(join(dir, 'broken.yaml'), good.replace('target: consolidation', 'target: consolidaton'));
    const r = run({ DOCKET_WORKFLOWS_DIR: dir, DOCKET_DATA_DIR: join(dir, 'data') });
    removeDir(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('broken.yaml');
    expect(r.stderr).toMatch(/stages\[1\]\.transitions\[0\]\.target/);
    expect(r.stderr).toContain('consolidaton');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('stops on a bad configuration value, naming the variable', () => {
    const r = run({ DOCKET_STORE: 'mongodb', DOCKET_DATA_DIR: join(tmpdir(), 'docket-unused') });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DOCKET_STORE must be sqlite, postgres or kurrentdb');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('the service process on the embedded store', () => {
  let dataDir: string;
  let svc: Running;
  let bureau: string;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: npm test builds it first (pretest)');
    dataDir = mkdtempSync(join(tmpdir(), 'docket-proc-'));
    svc = await start(dataDir);
    bureau = token(dataDir, '--role', 'bureau', '--sub', 'office@bureau');
  });
  afterAll(async () => {
    if (svc) await stop(svc, 'SIGTERM');
    removeDir(dataDir);
  });

  const api = async (method: string, path: string, tok: string | null, body?: unknown) => {
    const res = await fetch(svc.url + path, {
      method,
      headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  };

  it('serves the OpenAPI UI at /docs and JSON at /docs-json, without a token', async () => {
    const ui = await api('GET', '/docs', null);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
    const doc = await api('GET', '/docs-json', null);
    expect(doc.json.paths['/api/campaigns/{id}/transitions']).toBeDefined();
  });

  it('lists the three shipped workflows to a token minted by `docket token`', async () => {
    const r = await api('GET', '/api/workflows', bureau);
    expect(r.status).toBe(200);
    expect(r.json.items.map((w: any) => w.id).sort()).toEqual(['advanced-nature', 'strive-for-excellence', 'three-searches']);
  });

  it('keeps every acknowledged submission through kill -9, and answers the same GET after restart', async () => {
    const units = Array.from({ length: 60 }, (_, i) => ({ id: `school-${i + 1}`, name: `学校${i + 1}` }));
    const launched = await api('POST', '/api/campaigns', bureau, { id: 'kill9', workflow: 'three-searches', title: 'durability', units });
    expect(launched.status).toBe(201);
    const acked: string[] = [];
    let killed = false;
    const submitter = (async () => {
      for (const u of units) {
        try {
          const r = await api('POST', '/api/campaigns/kill9/submissions', bureau, { unit: u.id, deliverable: 'problem-list', title: `${u.id} 问题清单` });
          if (r.status === 201) acked.push(u.id);
        } catch {
          if (killed) return; // the connection died with the process: not acknowledged
        }
      }
    })();
    while (acked.length < 25) await new Promise((r) => setTimeout(r, 2));
    killed = true;
    await stop(svc, 'SIGKILL');
    await submitter;
    expect(acked.length).toBeGreaterThanOrEqual(25);

    svc = await start(dataDir);
    const after = await api('GET', '/api/campaigns/kill9', bureau);
    expect(after.status).toBe(200);
    const submitted = after.json.units.filter((u: any) => u.deliverables['problem-list'].status === 'submitted').map((u: any) => u.id);
    for (const id of acked) expect(submitted).toContain(id);
    const verify = await api('GET', '/api/campaigns/kill9/verify', bureau);
    expect(verify.json.ok).toBe(true);

    await stop(svc, 'SIGTERM');
    svc = await start(dataDir);
    const again = await api('GET', '/api/campaigns/kill9', bureau);
    expect(again.text).toBe(after.text);
  });
});
