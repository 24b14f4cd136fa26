import { cpus, totalmem } from 'node:os';

/** One measured figure, beside the floor it is compared with (measured in the same run) and its target. */
export interface Figure {
  bench: string;
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with: a raw floor measured in the same run, or a peer. */
  floor?: { name: string; value: number };
  /** value ÷ floor (for rates) or floor ÷ value (for times), so that 1.0 means "as fast as the floor". */
  ratio?: number;
  target?: { text: string; met: boolean };
  note?: string;
}

export interface BenchContext {
  quick: boolean;
  log(message: string): void;
}

export interface Bench {
  name: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

export const now = () => Number(process.hrtime.bigint()) / 1e6;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Runs `fn` n times, returns the durations in ms, sorted. */
export async function timings(n: number, fn: (i: number) => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = now();
    await fn(i);
    out.push(now() - t);
  }
  return out.sort((a, b) => a - b);
}

export function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model?.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export const fmt = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));
