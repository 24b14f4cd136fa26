import { randomBytes } from 'node:crypto';

/**
 * Ids for events whose ids may follow one another (campaign events): UUIDs of version 8 (RFC
 * 9562: the layout is the implementer's), made of 60 random bits drawn once per generator and a
 * 60-bit counter, written so that the ids of one generator sort in the order it made them:
 *
 *     pppppppp-pppp-8ppp-8ccc-cccccccccccc
 *
 * Why not random (version 4) ids: the log keeps a unique index of ids (an append of an id already
 * stored is a retry, and an id stored in another stream is refused), and random ids land on a
 * random leaf of that index each. A group commit of 20 submissions to 20 campaigns then writes 20
 * index pages for the ids alone, and with synchronous=FULL every page is written and fsynced. Ids
 * that follow one another land on the same rightmost leaf: measured on this project's machine,
 * a group commit of 19 events took 1.0–1.2 ms instead of 2.2–2.6 ms.
 *
 * What they tell: nothing of time, host or actor. The counter orders one process's events, as
 * their positions in the log already do; the prefix is random and new at each start, so two
 * processes (or two starts of one) never make the same id (two prefixes meet with odds of about
 * 2^-60 per pair).
 *
 * Ballots keep random (version 4) ids: an evaluation's events must not even be ordered by
 * anything but their stream (src/evaluations).
 */
export class SequentialEventIds {
  private readonly prefix: string;
  private counter = 0;

  constructor(random: Buffer = randomBytes(8)) {
    // 60 bits: the first 15 hex digits of 8 random bytes.
    this.prefix = random.toString('hex').slice(0, 15);
  }

  next(): string {
    const c = (this.counter++).toString(16).padStart(15, '0');
    const p = this.prefix;
    return `${p.slice(0, 8)}-${p.slice(8, 12)}-8${p.slice(12, 15)}-8${c.slice(0, 3)}-${c.slice(3)}`;
  }
}

/** The process's generator. */
const ids = new SequentialEventIds();

/** The next sequential event id of this process (SequentialEventIds). */
export function sequentialEventId(): string {
  return ids.next();
}
