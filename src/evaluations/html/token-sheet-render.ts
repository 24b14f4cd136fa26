import { join } from 'node:path';
import { startWorker } from '../../common/worker-thread';
import type { TokenSheetInput } from './token-sheet';

/**
 * Slips one token sheet may hold. Each QR code costs a few milliseconds to draw (about 13 s and
 * 27 MB of HTML for 5,000 on the reference machine); bigger evaluations take their tokens as
 * JSON and print them in batches.
 */
export const TOKEN_SHEET_MAX_SLIPS = 5000;

/** The token sheet's HTML, drawn on a worker thread so the event loop keeps serving meanwhile. */
export function renderTokenSheet(input: TokenSheetInput): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(join(__dirname, 'token-sheet.thread'), { workerData: input, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    let html: string | undefined;
    worker.once('message', (m: string) => (html = m));
    worker.once('error', reject);
    worker.once('exit', (code) => (html !== undefined ? resolve(html) : reject(new Error(`the token sheet thread ended with ${code} before answering`))));
  });
}
