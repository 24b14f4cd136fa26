import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Bench, Figure, fmt, machine } from './bench-kit';
import { readModelsBench } from './read-models.bench';
import { storeBench } from './store.bench';
import { remindersBench } from './reminders.bench';
import { ballotsBench } from '../evaluations/ballots.bench';
import { httpBench } from './http.bench';
import { peerBench } from './peer.bench';
import { memoryBench } from './memory.bench';

/**
 * `npm run bench [-- --quick] [-- --only NAME]`: runs every benchmark, prints each
 * figure beside its floor (measured in the same run) and target, and writes
 * docs/benchmarks.md with the date, the machine and the Node version.
 */
const BENCHES: Bench[] = [storeBench, readModelsBench, remindersBench, httpBench, ballotsBench, peerBench, memoryBench];

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const write = !args.includes('--no-write');
  const figures: Figure[] = [];
  const started = Date.now();
  for (const b of BENCHES) {
    if (only && !b.name.includes(only)) continue;
    console.error(`▶ ${b.name}`);
    const t = Date.now();
    const got = await b.run({ quick, log: (m) => console.error(`  ${m}`) });
    for (const f of got) console.log(line(f));
    console.error(`  (${b.name}: ${Math.round((Date.now() - t) / 1000)} s)`);
    figures.push(...got);
  }
  const m = machine();
  const seconds = Math.round((Date.now() - started) / 1000);
  console.error(`done in ${seconds} s on ${m.cpu} (${m.cores} cores), Node ${m.node}`);
  if (write) {
    const file = resolve(__dirname, '../../docs/benchmarks.md');
    // With --only, the rows of the benches not run this time are kept from the last report.
    const kept = only && existsSync(file) ? keptRows(readFileSync(file, 'utf8'), new Set(figures.map((f) => f.bench))) : [];
    writeFileSync(file, report(figures, quick, seconds, kept));
    console.error(`wrote ${file}`);
  }
}

function line(f: Figure): string {
  const parts = [`${f.bench}: ${f.name} = ${fmt(f.value)} ${f.unit}`];
  if (f.floor) parts.push(`floor ${fmt(f.floor.value)} ${f.unit} (${f.floor.name}), ratio ${f.ratio!.toFixed(2)}`);
  if (f.target) parts.push(`target ${f.target.text}: ${f.target.met ? 'met' : 'MISSED'}`);
  return parts.join(' | ');
}

function keptRows(markdown: string, rerun: Set<string>): string[] {
  return markdown
    .split('\n')
    .filter((l) => /^\| [^-|]/.test(l) && !l.startsWith('| bench |'))
    .filter((l) => !rerun.has(l.split('|')[1].trim()));
}

function report(figures: Figure[], quick: boolean, seconds: number, kept: string[] = []): string {
  const m = machine();
  const rows = figures.map(
    (f) =>
      `| ${f.bench} | ${f.name} | ${fmt(f.value)} ${f.unit} | ${f.floor ? `${fmt(f.floor.value)} ${f.unit} — ${f.floor.name}` : ''} | ${f.ratio !== undefined ? f.ratio.toFixed(2) : ''} | ${f.target ? `${f.target.text} ${f.target.met ? '✅' : '❌'}` : ''} |`,
  );
  return `# Benchmarks

Written by \`npm run bench${quick ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)}.
Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}. The run took ${seconds} s.

Each figure stands beside its floor, measured in the same run on the same machine:
the raw operation with nothing of Docket around it. The ratio is figure ÷ floor for
rates and floor ÷ figure for times, so 1.00 means "as fast as the floor".

| bench | figure | value | floor | ratio | target |
|---|---|---|---|---|---|
${[...kept, ...rows].join('\n')}

## What bounds the targets that are missed

- **HTTP commands/s and p99** — CPU on the one event-loop thread, not durability (FULL and
  NORMAL give about the same rate): about 550 µs of service CPU per command against about
  140 µs for the bare Fastify floor. The profile: the repository's catch-up read of the
  stream on every command (~11%), the validation pipe (~10%), hash + append (~9%), the auth
  guard and JWT (~5%). Appends of one event-loop turn already share one SQLite commit.
- **Replay events/s** — the floor itself (reading the rows and JSON.parse alone) is about
  100k events/s here, so 500k needs persisted snapshots of folded campaign states; the fold
  is at ~0.9 of the floor.
- **Peak RSS with 10,000 campaigns** — ~150 MB baseline (modules: Nest, pg, the KurrentDB
  gRPC client, nodemailer) plus ~35 KiB per cached campaign state, of which ~9 KiB is a
  private copy of its workflow definition.
- **PostgreSQL single-event commands** — each command does a catch-up read and the append
  (one round trip, a PL/pgSQL function) under one global row lock that keeps the order
  gap-free; the raw floor is a bare autocommit insert.

Runs that share the machine with other work (a CI install, tests) report lower rates; the
machine and date above say when these were taken.

Regenerate with \`npm run bench\` (full, under 10 minutes on 2 cores) or
\`npm run bench -- --quick\` (under 2 minutes); \`-- --only NAME\` runs one bench.
`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
