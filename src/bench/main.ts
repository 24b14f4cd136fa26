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
    const got = await b.run({ quick, log: (m) => console.error(`  ${m}`) });
    for (const f of got) console.log(line(f));
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

Regenerate with \`npm run bench\` (full, under 10 minutes on 2 cores) or
\`npm run bench -- --quick\` (under 2 minutes); \`-- --only NAME\` runs one bench.
`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
