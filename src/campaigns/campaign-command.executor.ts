import { Inject, Injectable, Optional } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { createHash } from 'node:crypto';
import { CLOCK, Clock } from '../common/clock';
import { KeyedLock } from '../common/keyed-lock';
import { Actor, DomainError } from '../common/domain/domain-error';
import { ConcurrencyError } from '../event-store/event-store.port';
import { canonicalJson } from '../audit/domain/hash-chain';
import { CampaignCommand, decide } from './domain/decide';
import type { CampaignEvent, RecordedCampaignEvent } from './domain/campaign-events';
import { CampaignRepository } from './campaign.repository';

export interface CommandOptions {
  actor: Actor;
  correlationId: string;
  /** A repeat with the same key answers as the first time and appends nothing. */
  idempotencyKey?: string;
  /** If-Match: the revision the caller last saw; 412 when the campaign has moved on. */
  expectedRevision?: number;
}

export interface CommandResult {
  events: RecordedCampaignEvent[];
  /** True when an Idempotency-Key repeat was answered from the log. */
  replayed: boolean;
}

/**
 * How often a command is re-decided after another instance appended first. A loser
 * retries at once (it only has to read the few events it missed), so under a steady
 * stream of commands from two instances each attempt is close to a coin toss; 30
 * attempts make a spurious CONCURRENCY_CONFLICT about as likely as 2^-30.
 */
export const MAX_CONFLICT_RETRIES = 30;

/** After a few immediate retries, a small random pause breaks instances out of lockstep. */
const backoff = (attempt: number) => (attempt < 3 ? Promise.resolve() : new Promise((r) => setTimeout(r, Math.random() * Math.min(20, attempt))));

/**
 * The one command path: load → decide → append with the expected revision.
 * Commands to one campaign are serialised in-process; a conflict with another
 * instance re-loads and re-decides, a bounded number of times.
 */
@Injectable()
export class CampaignCommandExecutor {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly repo: CampaignRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() private readonly metrics?: Metrics,
  ) {}

  async execute(campaignId: string, command: CampaignCommand, options: CommandOptions): Promise<CommandResult> {
    try {
      const result = await this.lock.run(campaignId, () => this.attempt(campaignId, command, options));
      this.metrics?.commands.inc({ type: command.type, outcome: result.replayed ? 'replayed' : 'ok' });
      if (!result.replayed) this.metrics?.eventsAppended.inc(result.events.length);
      return result;
    } catch (e) {
      this.metrics?.commands.inc({ type: command.type, outcome: (e as { code?: string }).code ?? 'error' });
      throw e;
    }
  }

  private async attempt(campaignId: string, command: CampaignCommand, options: CommandOptions): Promise<CommandResult> {
    const requestHash = options.idempotencyKey
      ? createHash('sha256').update(canonicalJson({ campaignId, command, actor: options.actor.sub })).digest('hex')
      : undefined;
    let fresh = false;
    for (let attempt = 0; ; attempt++) {
      // The first attempt trusts the cached state (no read); a refusal or a conflict is re-checked against the log.
      const loaded = fresh ? { state: await this.repo.load(campaignId), fresh: true } : await this.repo.loadForCommand(campaignId);
      const state = loaded.state;
      fresh = true;
      let decided: CampaignEvent[];
      let now: Date;
      try {
        if (options.idempotencyKey && state) {
          const seen = state.idempotency.get(options.idempotencyKey);
          if (seen) {
            if (seen.requestHash !== requestHash) {
              throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for a different request', {
                idempotencyKey: options.idempotencyKey,
              });
            }
            const events = await this.repo.events(campaignId, seen.firstRevision, seen.lastRevision - seen.firstRevision + 1);
            return { events, replayed: true };
          }
        }
        const actual = state?.revision ?? -1;
        if (options.expectedRevision !== undefined && options.expectedRevision !== actual) {
          throw new DomainError('REVISION_MISMATCH', `If-Match revision ${options.expectedRevision} is not the current revision ${actual}`, {
            expected: options.expectedRevision,
            actual,
          });
        }
        now = this.clock.now();
        decided = decide(command, state, { actor: options.actor, now });
      } catch (e) {
        // A refusal decided on a cached state is only given once the log confirms it.
        if (e instanceof DomainError && !loaded.fresh) continue;
        throw e;
      }
      try {
        const events = await this.repo.append(campaignId, state, decided, {
          actor: options.actor,
          now,
          correlationId: options.correlationId,
          idempotencyKey: options.idempotencyKey,
          requestHash,
        });
        return { events, replayed: false };
      } catch (e) {
        if (!(e instanceof ConcurrencyError) || attempt >= MAX_CONFLICT_RETRIES) throw e;
        this.metrics?.conflictRetries.inc();
        await backoff(attempt);
      }
    }
  }
}
