import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { Docket, REPO_ROOT } from '../support/docket-harness';
import { EVENT_STORE, EventStore, RecordedEvent } from '../../src/event-store/event-store.port';
import { Projector } from '../../src/projections/projector';
import { ReminderScheduler } from '../../src/reminders/reminder-scheduler';
import { DeliveryDispatcher } from '../../src/webhooks/delivery-dispatcher';

export const WORKFLOWS = join(REPO_ROOT, 'test/fixtures/workflows');
export const DAY = 86_400_000;
const D = Date.parse('2013-10-10T00:00:00.000Z');
/** Days relative to the drill's deadline, 2013-10-10T00:00Z (08:00 in Shanghai). */
export const at = (days: number) => new Date(D + days * DAY).toISOString();

export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  /** The status the receiver answered. */
  answered: number;
}

export interface Receiver {
  url: string;
  requests: Received[];
  /** Answers per request; the default answers 200. */
  answer: (req: Received, previousForDelivery: number) => number;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1:<random port>, recording every request. */
export async function startReceiver(path = '/hooks/docket'): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    requests: [],
    answer: () => 200,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: 0 };
      const previous = receiver.requests.filter((x) => x.headers['x-docket-delivery'] === req.headers['x-docket-delivery']).length;
      r.answered = req.url === path ? receiver.answer(r, previous) : 404;
      receiver.requests.push(r);
      res.writeHead(r.answered, { 'content-type': 'text/plain' }).end(r.answered < 300 ? 'ok' : 'not now');
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return receiver;
}

/** The verification docs/webhooks.md tells receivers to do, written out independently of src/. */
export function verifies(secret: string, r: Received): boolean {
  const timestamp = String(r.headers['x-docket-timestamp']);
  const header = String(r.headers['x-docket-signature']);
  const expected = 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${r.body}`).digest('hex');
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), Buffer.from(expected));
}

export const reminderEvents = async (d: Docket, campaign: string): Promise<RecordedEvent[]> => (d.app.get(EVENT_STORE) as EventStore).readStream(`reminders-${campaign}`);

/** Scans for due reminders and waits until the projector has put them (and their outbox rows) in the read models. */
export async function scanAndSettle(d: Docket, campaign: string): Promise<void> {
  await d.app.get(ReminderScheduler).scan();
  await settle(d, campaign);
}

export async function settle(d: Docket, campaign: string): Promise<void> {
  const events = await reminderEvents(d, campaign);
  const last = events[events.length - 1];
  if (last) await d.app.get(Projector).waitFor(last.position, 10_000);
}

export const dispatch = (d: Docket) => d.app.get(DeliveryDispatcher).dispatchOnce();

export interface Mail {
  /** Who authenticated for it. */
  user: string;
  from: string;
  to: string[];
  raw: string;
  headers: Record<string, string>;
  subject: string;
  text: string;
}

export interface MailServer {
  port: number;
  mails: Mail[];
  /** Reject the next n messages with a temporary (451) error. */
  failNext: number;
  close(): Promise<void>;
}

/** An SMTP server (smtp-server, from the nodemailer authors) on 127.0.0.1:<random port>, with AUTH PLAIN/LOGIN over plain text. */
export async function startMailServer(user: string, pass: string): Promise<MailServer> {
  const box: MailServer = { port: 0, mails: [], failNext: 0, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === pass) cb(null, { user });
      else cb(new Error('bad credentials'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (box.failNext > 0) {
          box.failNext -= 1;
          const err = new Error('try again later') as Error & { responseCode: number };
          err.responseCode = 451;
          return cb(err);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        box.mails.push({ user: String(session.user ?? ''), from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw, ...parseMail(raw) });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  box.port = (server.server.address() as AddressInfo).port;
  return box;
}

/** Enough MIME for the reminder e-mails: unfolded headers, RFC 2047 subjects, a base64 or quoted-printable text body. */
function parseMail(raw: string): { headers: Record<string, string>; subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const words = (s: string) =>
    s.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_m, enc: string, data: string) =>
      enc.toLowerCase() === 'b' ? Buffer.from(data, 'base64').toString('utf8') : qp(data.replace(/_/g, ' ')),
    );
  const body = raw.slice(split + 4);
  const enc = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  const text = enc === 'base64' ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') : enc === 'quoted-printable' ? qp(body.replace(/=\r\n/g, '')) : body;
  return { headers, subject: words(headers.subject ?? '').trim(), text };
}

function qp(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-F]{2}$/i.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(s[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
