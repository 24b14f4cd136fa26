import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, removeDir } from '../support/docket-harness';
import { cliToken, httpClient, MAIN, ServiceProcess, startService } from '../support/service-process';

/**
 * The service as a user runs it: the compiled `node dist/main.js` (what `npm start`
 * runs) on the embedded SQLite store, tokens from `docket token`, real HTTP.
 */
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

  it('mints no token that lives longer than 366 days, or not at all', () => {
    const env = { DOCKET_JWT_SECRET: 'x'.repeat(40) };
    for (const expires of ['367d', '99999999999d', '0s']) {
      expect(() => cliToken(env, '--role', 'bureau', '--sub', 'office@bureau', '--expires', expires)).toThrow(/from 1s to 366d/);
    }
    expect(cliToken(env, '--role', 'bureau', '--sub', 'office@bureau', '--expires', '366d')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

describe('the service process on the embedded store', () => {
  let dataDir: string;
  let svc: ServiceProcess;
  let bureau: string;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: npm test builds it first (pretest)');
    dataDir = mkdtempSync(join(tmpdir(), 'docket-proc-'));
    svc = await startService({ DOCKET_DATA_DIR: dataDir });
    bureau = cliToken({ DOCKET_DATA_DIR: dataDir }, '--role', 'bureau', '--sub', 'office@bureau');
  });
  afterAll(async () => {
    if (svc) await svc.stop();
    removeDir(dataDir);
  });

  const api = httpClient(() => svc.url);

  it('serves the OpenAPI UI at /docs and JSON at /docs-json, without a token', async () => {
    const ui = await api('GET', '/docs', null);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
    const doc = await api('GET', '/docs-json', null);
    expect(doc.json.paths['/api/campaigns/{id}/transitions']).toBeDefined();
  });

  it('exposes Prometheus metrics at /metrics, without a token', async () => {
    await api('POST', '/api/campaigns', bureau, { id: 'metrics', workflow: 'three-searches', title: 'm', units: [{ id: 'u1', name: 'U1' }] });
    const r = await api('GET', '/metrics', null);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.text).toMatch(/docket_commands_total\{type="LaunchCampaign",outcome="ok"\} 1/);
    expect(r.text).toMatch(/docket_http_request_duration_seconds_bucket\{.*route="\/api\/campaigns"/);
    expect(r.text).toContain('docket_process_resident_memory_bytes');
  });

  it('answers what is refused before any route runs as problem+json: malformed HTTP, oversized headers, an undecodable path, a path parameter too long', async () => {
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const { hostname, port } = new URL(svc.url);
        const socket = connect(Number(port), hostname, () => socket.end(request));
        let out = '';
        socket.on('data', (d) => (out += d.toString()));
        socket.on('close', () => resolve(out));
        socket.on('error', reject);
      });
    const problemOf = (response: string) => {
      expect(response).toMatch(/\r\ncontent-type: application\/problem\+json/i);
      return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
    };
    const framing = await raw('POST /api/campaigns HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello world');
    expect(framing).toMatch(/^HTTP\/1\.1 400 /);
    expect(problemOf(framing)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    const headers = await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(headers).toMatch(/^HTTP\/1\.1 431 /);
    expect(problemOf(headers)).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
    const badUrl = await api('GET', '/api/campaigns/%FF', bureau);
    expect([badUrl.status, badUrl.headers.get('content-type'), badUrl.json.code]).toEqual([400, 'application/problem+json; charset=utf-8', 'INVALID_URL']);
    const long = await api('GET', `/api/campaigns/${'a'.repeat(150)}`, bureau);
    expect([long.status, long.headers.get('content-type'), long.json.code]).toEqual([414, 'application/problem+json; charset=utf-8', 'URI_TOO_LONG']);
  });

  it('takes a client that goes away mid-body quietly: no error logged, the service answers the next request', async () => {
    const { hostname, port } = new URL(svc.url);
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(`POST /api/campaigns/c1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${bureau}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"unit":"branch-1"`);
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => setTimeout(resolve, 300));
    });
    expect((await api('GET', '/health', null)).status).toBe(200);
    expect(svc.output()).not.toMatch(/ERROR/);
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
    await svc.stop('SIGKILL');
    await submitter;
    expect(acked.length).toBeGreaterThanOrEqual(25);

    svc = await startService({ DOCKET_DATA_DIR: dataDir });
    const after = await api('GET', '/api/campaigns/kill9', bureau);
    expect(after.status).toBe(200);
    const submitted = after.json.units.filter((u: any) => u.deliverables['problem-list'].status === 'submitted').map((u: any) => u.id);
    for (const id of acked) expect(submitted).toContain(id);
    const verify = await api('GET', '/api/campaigns/kill9/verify', bureau);
    expect(verify.json.ok).toBe(true);

    await svc.stop();
    svc = await startService({ DOCKET_DATA_DIR: dataDir });
    const again = await api('GET', '/api/campaigns/kill9', bureau);
    expect(again.text).toBe(after.text);
  });
});
