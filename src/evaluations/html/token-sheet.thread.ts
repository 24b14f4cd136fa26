/**
 * Renders one token sheet on a thread of its own (token-sheet-render.ts): drawing a QR code
 * per slip takes a few milliseconds each, seconds for a sheet of thousands, and the service's
 * event loop must not stop for it. Of Docket it imports only the sheet's pure HTML code.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tokenSheetHtml, TokenSheetInput } from './token-sheet';

parentPort!.postMessage(tokenSheetHtml(workerData as TokenSheetInput));
