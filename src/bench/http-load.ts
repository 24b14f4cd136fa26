/**
 * The load generator of the HTTP bench, run as its own process (child_process.fork) so that
 * autocannon does not share the service's event loop: it gets a LoadJob over IPC, runs
 * autocannon with `connections` keep-alive connections for `seconds`, and answers with a
 * LoadResult. Every request is a valid submission, spread round-robin over the campaigns
 * (and, per campaign, over its units).
 */
// autocannon ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon');

export interface LoadJob {
  url: string;
  token?: string;
  campaigns: string[];
  /** Units are unit-1 … unit-N. */
  units: number;
  seconds: number;
  connections: number;
}

export interface LoadResult {
  seconds: number;
  requests: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** This process's CPU time while loading (user + system, seconds): the load generator's share of the 2 cores. */
  cpuSeconds: number;
}

export function submissionBody(unit: number): string {
  return JSON.stringify({ unit: `unit-${unit}`, deliverable: 'problem-list', title: `单位${unit}查找问题清单` });
}

async function run(job: LoadJob): Promise<LoadResult> {
  let n = 0;
  const bodies = Array.from({ length: job.units }, (_, i) => submissionBody(i + 1));
  const cpu = process.cpuUsage();
  const r = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    headers: { 'content-type': 'application/json', ...(job.token ? { authorization: `Bearer ${job.token}` } : {}) },
    requests: [
      {
        method: 'POST',
        setupRequest: (req: Record<string, unknown>) => {
          const i = n++;
          const c = job.campaigns[i % job.campaigns.length];
          req.path = `/api/campaigns/${c}/submissions`;
          req.body = bodies[Math.floor(i / job.campaigns.length) % job.units];
          return req;
        },
      },
    ],
  });
  const used = process.cpuUsage(cpu);
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = (s as { count: number }).count;
  return {
    seconds: r.duration,
    requests: r.requests.total,
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    rate: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

if (require.main === module) {
  process.on('message', (job: LoadJob) => {
    run(job).then(
      (result) => process.send!({ result }, undefined, undefined, () => process.exit(0)),
      (error) => process.send!({ error: String(error?.stack ?? error) }, undefined, undefined, () => process.exit(1)),
    );
  });
}
