import {
  EventHandler,
  ReadAllOptions,
  RecordedEvent,
  StoreUnavailableError,
  SubscribeToAllOptions,
  Subscription,
} from './event-store.port';

export interface SubscriptionHubOptions {
  /** Upper bound on how late a subscription notices events that no wake-up announced (other processes). */
  pollIntervalMs: number;
  /** Events per readAll while catching up. */
  pageSize?: number;
}

/**
 * Catch-up subscriptions written once for every adapter. An adapter gives its readAll and calls
 * notify() whenever new events may be committed (after its own appends, on a PostgreSQL NOTIFY);
 * the poll interval covers writers it cannot hear. Correct only over a gap-free global order: a
 * reader that has passed position P never meets a new event below P (every adapter guarantees it).
 */
export class SubscriptionHub {
  private readonly subscriptions = new Set<CatchUpSubscription>();
  readonly pollIntervalMs: number;
  readonly pageSize: number;

  constructor(
    readonly readAll: (options: ReadAllOptions) => Promise<RecordedEvent[]>,
    options: SubscriptionHubOptions,
  ) {
    this.pollIntervalMs = options.pollIntervalMs;
    this.pageSize = options.pageSize ?? 500;
  }

  get size(): number {
    return this.subscriptions.size;
  }

  /** New events may have been committed: wake every idle subscription. */
  notify(): void {
    for (const s of this.subscriptions) s.wake();
  }

  subscribe(options: SubscribeToAllOptions, handler: EventHandler): Subscription {
    const sub = new CatchUpSubscription(this, options, handler);
    this.subscriptions.add(sub);
    sub.done.then(
      () => this.subscriptions.delete(sub),
      () => this.subscriptions.delete(sub),
    );
    return sub;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }
}

class CatchUpSubscription implements Subscription {
  readonly caughtUp: Promise<void>;
  readonly done: Promise<void>;
  private settleCaughtUp!: (error?: unknown) => void;
  private closed = false;
  /** A wake-up arrived since the last read started: read again before sleeping. */
  private woken = false;
  private interruptSleep?: () => void;
  /** Resolves when close() is called: the run loop stops waiting for a handler call in flight. */
  private readonly stopped: Promise<void>;
  private stop!: () => void;

  constructor(
    private readonly hub: SubscriptionHub,
    private readonly options: SubscribeToAllOptions,
    private readonly handler: EventHandler,
  ) {
    this.caughtUp = new Promise<void>((resolve, reject) => {
      let settled = false;
      this.settleCaughtUp = (error) => {
        if (settled) return;
        settled = true;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    this.stopped = new Promise<void>((resolve) => (this.stop = resolve));
    this.done = this.run();
    // Nobody has to await these: an unobserved rejection must not crash the process.
    this.caughtUp.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  wake(): void {
    this.woken = true;
    this.interruptSleep?.();
  }

  /**
   * Stops delivery. Resolves once the run loop has stopped, without waiting for a handler call
   * still in flight: that is what lets a handler close its own subscription (awaiting close()
   * inside the handler would otherwise wait for itself). No context tracking is needed for it,
   * which keeps async_hooks' promise hooks (an AsyncLocalStorage) off every promise of the process.
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.stop();
      this.interruptSleep?.();
    }
    await this.done.catch(() => undefined);
  }

  private async run(): Promise<void> {
    await Promise.resolve(); // let the constructor finish before the first read
    let position = this.options.afterPosition ?? 0;
    let failures = 0;
    try {
      while (!this.closed) {
        this.woken = false;
        let page: RecordedEvent[];
        try {
          // Unfiltered pages, filtered here: the position then moves past the events the
          // subscription skips, so a busy stream it ignores (ballots) is read once, not on every wake.
          page = await this.hub.readAll({ afterPosition: position, maxCount: this.hub.pageSize });
          failures = 0;
        } catch (error) {
          // The store may come back (a restarted PostgreSQL); anything else is a bug to surface.
          if (!(error instanceof StoreUnavailableError) || this.closed) throw error;
          failures += 1;
          await this.sleep(Math.min(this.hub.pollIntervalMs * 2 ** failures, 30_000));
          continue;
        }
        const prefixes = this.options.streamPrefixes;
        for (const event of page) {
          if (this.closed) return;
          if (!prefixes?.length || prefixes.some((p) => event.streamId.startsWith(p))) {
            const pending = this.handler(event);
            // A handler that returns nothing costs no promise and no await.
            if (pending && typeof (pending as Promise<void>).then === 'function') {
              await Promise.race([pending, this.stopped]);
              if (this.closed) {
                // Closed while the handler ran: stop here; a later failure of that call is not ours to report.
                (pending as Promise<void>).catch(() => undefined);
                return;
              }
            }
          }
          position = event.position;
        }
        if (page.length < this.hub.pageSize) {
          this.settleCaughtUp();
          if (!this.woken && !this.closed) await this.sleep(this.hub.pollIntervalMs);
        }
      }
    } catch (error) {
      this.settleCaughtUp(error);
      throw error;
    } finally {
      this.closed = true;
      this.settleCaughtUp(new Error('subscription closed before it caught up'));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      const self = this;
      function finish() {
        clearTimeout(timer);
        self.interruptSleep = undefined;
        resolve();
      }
      this.interruptSleep = finish;
    });
  }
}
