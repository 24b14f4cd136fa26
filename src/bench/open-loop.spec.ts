import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { runOpenLoop } from './open-loop';

/** A server answering 201 with a JSON body, after `delay(n)` ms for the n-th request (counted from 0). */
async function serve(delay: (n: number) => number, close = false): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization} ${body}`);
      const wait = delay(n++);
      if (wait === Infinity) return; // never answered
      const answer = () => res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': 11, ...(close ? { Connection: 'close' } : {}) }).end('{"ok":true}');
      if (wait > 0) setTimeout(answer, wait);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

describe('the open-loop load generator', () => {
  it('sends the submissions on schedule and counts only the measured window', async () => {
    const { url, server, seen } = await serve(() => 0);
    try {
      // One connection, so the server reads them in the order they were sent.
      const r = await runOpenLoop({ url, token: 't0k', campaigns: ['c1', 'c2'], units: 3, connections: 1, rate: 200, seconds: 1, warmupSeconds: 0.5 });
      expect(seen).toHaveLength(300);
      expect(seen[0]).toBe('POST /api/campaigns/c1/submissions Bearer t0k {"unit":"unit-1","deliverable":"problem-list","title":"单位1查找问题清单"}');
      expect(seen[1]).toMatch(/^POST \/api\/campaigns\/c2\/submissions .*"unit-1"/);
      expect(seen[2]).toMatch(/^POST \/api\/campaigns\/c1\/submissions .*"unit-2"/);
      expect(r).toMatchObject({ requests: 200, ok2xx: 200, non2xx: 0, errors: 0, timeouts: 0, statusCodes: { 201: 200 }, offered: 200 });
      expect(r.p99).toBeLessThan(50);
    } finally {
      server.close();
    }
  });

  it('says so when an answer has no Content-Length (it reads no chunked answers)', async () => {
    const server = createServer((_req, res) => res.writeHead(201).end('chunked'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(runOpenLoop({ url, campaigns: ['c1'], units: 1, connections: 2, rate: 100, seconds: 0.2, warmupSeconds: 0 })).rejects.toThrow(/without Content-Length/);
    } finally {
      server.close();
    }
  });

  it('replaces a connection the server closes, and loses nothing', async () => {
    const { url, server } = await serve(() => 0, true);
    try {
      // The server closes each connection after its answer; the next request is due 300 ms later.
      const r = await runOpenLoop({ url, campaigns: ['c1'], units: 1, connections: 2, rate: 1000 / 300, seconds: 1.2, warmupSeconds: 0 });
      expect(r).toMatchObject({ ok2xx: 4, errors: 0, timeouts: 0 });
    } finally {
      server.close();
    }
  });

  it('counts a request never answered as a timeout, with the latency it reached', async () => {
    const { url, server } = await serve((n) => (n === 10 ? Infinity : 0));
    try {
      const r = await runOpenLoop({ url, campaigns: ['c1'], units: 1, connections: 4, rate: 100, seconds: 0.5, warmupSeconds: 0, drainMs: 300 });
      expect(r).toMatchObject({ requests: 50, ok2xx: 49, timeouts: 1, errors: 0 });
      expect(r.max).toBeGreaterThanOrEqual(300);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('counts a pause of the server against every request it held up, not just the one it answered late', async () => {
    // Requests 50–59 are answered after 300 ms: all 10 connections are taken, and the schedule goes on.
    const { url, server } = await serve((n) => (n >= 50 && n < 60 ? 300 : 0));
    try {
      const r = await runOpenLoop({ url, campaigns: ['c1'], units: 1, connections: 10, rate: 200, seconds: 2, warmupSeconds: 0 });
      expect(r.ok2xx).toBe(400);
      // Requests 50–59 (2.5 %) take 300 ms; the 50 due behind them wait for a connection, up to 250 ms. A
      // generator that counted from sending (coordinated omission) would see the 2.5 % alone: p90 near 0.
      expect(r.p90).toBeGreaterThanOrEqual(50);
      expect(r.p99).toBeGreaterThanOrEqual(250);
      expect(r.max).toBeGreaterThanOrEqual(290);
    } finally {
      server.close();
    }
  });
});
