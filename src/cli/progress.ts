import { Presets, SingleBar } from 'cli-progress';
import { AuditProgress, SILENT_PROGRESS } from '../audit/audit-check';

/** Progress bars only for a person watching: never with --json or --no-progress, never when stderr is not a terminal. */
export function progressWanted(opts: { json?: boolean; progress?: boolean }, stream: NodeJS.WriteStream = process.stderr): boolean {
  return !opts.json && opts.progress !== false && Boolean(stream.isTTY);
}

/** A progress bar on stderr (stdout stays clean for the results), one bar per phase. */
export function terminalProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): AuditProgress {
  if (!enabled) return SILENT_PROGRESS;
  let bar: SingleBar | undefined;
  return {
    start(label, total) {
      bar?.stop();
      bar = new SingleBar(
        {
          format: `${label.padEnd(28)} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`,
          stream,
          hideCursor: true,
          fps: 10,
          etaBuffer: 100,
        },
        Presets.shades_classic,
      );
      bar.start(Math.max(total, 1), 0);
    },
    advance(by = 1) {
      if (by > 0) bar?.increment(by);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
