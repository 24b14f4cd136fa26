import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes, randomInt } from 'node:crypto';
import { CampaignCommandExecutor } from '../campaigns/campaign-command.executor';
import { CampaignRepository } from '../campaigns/campaign.repository';
import { evaluationToOpen } from '../campaigns/domain/decide';
import { CLOCK, Clock } from '../common/clock';
import { Actor, DomainError } from '../common/domain/domain-error';
import { KeyedLock } from '../common/keyed-lock';
import { ConcurrencyError } from '../event-store/event-store.port';
import { BallotKeys, generateToken } from './ballot-keys';
import { auditEvaluation, campaignAnchor, CampaignAnchor, EvaluationAudit } from './domain/audit';
import { BallotCommand, decide, decideBallots, EvaluationCommand, resolveSetup, SetupRequest } from './domain/decide';
import type { BallotCast, EvaluationOpened, VoterGroup } from './domain/evaluation-events';
import { castByGroup, EvaluationState } from './domain/evaluation-state';
import { evaluationView, EvaluationView } from './domain/evaluation-view';
import { ballotMetadata, hashToken, normalizeToken } from './domain/tokens';
import { EvaluationRepository } from './evaluation.repository';
import { tallyCsv } from './tally-csv';

/** Attempts after a concurrency conflict with another instance (each re-reads only what it missed). */
const MAX_CONFLICT_RETRIES = 30;
/** Ballots written in one append: one transaction, one fsync. */
const MAX_BATCH = 500;

export interface OpenRequest extends SetupRequest {
  id?: string;
  evaluation: string;
  title?: string;
  unit?: string;
}

export interface Opened {
  view: EvaluationView;
  groups: VoterGroup[];
  /** Shown once: only their hashes are stored. */
  tokens: Record<string, string[]>;
}

export interface CommandMeta {
  actor: Actor;
  correlationId: string;
}

interface PendingBallot {
  command: BallotCommand;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function notFound(id: string): DomainError {
  return new DomainError('EVALUATION_NOT_FOUND', `no evaluation ${id.slice(0, 80)}`, { id: id.slice(0, 80) });
}

/** Fisher–Yates with the system's CSPRNG: the order ballots of one batch are stored in says nothing about the order they came in. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Democratic evaluations: open (tokens shown once), cast (anonymous, one per token),
 * close (tally published, campaign told), verify (recount from the log).
 *
 * Everything that writes one evaluation runs under one in-process lock per evaluation.
 * Ballots that arrive while a write is in progress queue up and are then judged and
 * appended together, in a random order, in one append with the expected revision (group
 * commit): one transaction for many ballots, and a stored order that is not the arrival order.
 */
@Injectable()
export class EvaluationService {
  private readonly lock = new KeyedLock();
  private readonly queues = new Map<string, PendingBallot[]>();
  private readonly logger = new Logger('Evaluations');

  constructor(
    private readonly repo: EvaluationRepository,
    private readonly campaigns: CampaignRepository,
    private readonly executor: CampaignCommandExecutor,
    private readonly keys: BallotKeys,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async require(id: string): Promise<EvaluationState> {
    const state = await this.repo.load(id);
    if (!state) throw notFound(id);
    return state;
  }

  /** `maxTokens`: refuse, before anything is written, an evaluation that would issue more tokens (a token sheet's limit). */
  async open(campaignId: string, request: OpenRequest, meta: CommandMeta, options: { maxTokens?: number } = {}): Promise<Opened> {
    const campaign = await this.campaigns.load(campaignId);
    if (!campaign) throw new DomainError('CAMPAIGN_NOT_FOUND', `no campaign ${campaignId}`, { id: campaignId });
    if (campaign.status === 'completed') throw new DomainError('CAMPAIGN_COMPLETED', `campaign ${campaignId} is completed; nothing more can change`);
    const definition = evaluationToOpen(campaign, request.evaluation, request.unit);
    const setup = resolveSetup(definition, request, campaign.units);
    const issued = setup.groups.reduce((n, g) => n + g.ballots, 0);
    if (options.maxTokens !== undefined && issued > options.maxTokens) {
      throw new DomainError(
        'TOKEN_SHEET_TOO_LARGE',
        `a token sheet holds at most ${options.maxTokens} slips and this evaluation would issue ${issued} tokens: open it without format=html and print its tokens in batches`,
        { issued, max: options.maxTokens },
      );
    }
    const id = request.id ?? `ev-${randomBytes(10).toString('hex')}`;

    const tokens: Record<string, string[]> = {};
    const tokenHashes: Record<string, string[]> = {};
    for (const g of setup.groups) {
      tokens[g.id] = Array.from({ length: g.ballots }, generateToken);
      tokenHashes[g.id] = tokens[g.id].map(hashToken).sort();
    }
    const data: EvaluationOpened['data'] = {
      evaluationId: id,
      campaignId,
      stage: campaign.stage,
      evaluation: definition.id,
      title: request.title ?? definition.title.zh,
      subjectKind: definition.subjects,
      ...(request.unit !== undefined ? { unit: request.unit } : {}),
      ...setup,
      tokenHashes,
      nullifierKey: this.keys.fingerprint,
    };
    // The evaluation's stream first: a campaign must never know of an evaluation that does not exist.
    await this.write(id, { type: 'OpenEvaluation', data }, meta);
    try {
      await this.executor.execute(
        campaignId,
        {
          type: 'RecordEvaluationOpened',
          data: {
            evaluationId: id,
            evaluation: definition.id,
            stage: campaign.stage,
            title: data.title,
            ...(request.unit !== undefined ? { unit: request.unit } : {}),
            issued,
            groups: Object.fromEntries(setup.groups.map((g) => [g.id, { issued: g.ballots }])),
          },
        },
        { actor: meta.actor, correlationId: meta.correlationId },
      );
    } catch (error) {
      // The campaign moved on meanwhile: the tokens are never shown, so the evaluation is cancelled.
      await this.write(id, { type: 'CancelEvaluation', data: { reason: `the campaign refused it: ${(error as Error).message}` } }, meta).catch((e) =>
        this.logger.warn(`evaluation ${id} could not be cancelled: ${(e as Error).message}`),
      );
      throw error;
    }
    return { view: evaluationView(await this.require(id)), groups: setup.groups, tokens };
  }

  /** Runs a command on the evaluation's stream under its lock, re-deciding after a conflict with another instance. */
  private write(id: string, command: EvaluationCommand, meta: CommandMeta): Promise<EvaluationState> {
    return this.lock.run(id, async () => {
      for (let attempt = 0; ; attempt++) {
        const state = await this.repo.load(id);
        const events = decide(command, state);
        try {
          await this.repo.append(id, state, events, { actor: meta.actor, occurredAt: this.clock.now().toISOString(), correlationId: meta.correlationId });
          return (await this.repo.load(id))!;
        } catch (e) {
          if (!(e instanceof ConcurrencyError) || attempt >= MAX_CONFLICT_RETRIES) throw e;
        }
      }
    });
  }

  /**
   * Casts one ballot. Resolves once it is stored; rejects with the ballot's own refusal.
   * The token is hashed and keyed here and then forgotten: it reaches neither the log nor a log line.
   */
  cast(id: string, token: string, ratings: Record<string, string>): Promise<void> {
    const canonical = normalizeToken(token);
    // A malformed token is as unknown as a wrong one, but the evaluation's state (e.g. closed) is still judged first.
    const command: BallotCommand = canonical
      ? { tokenHash: hashToken(canonical), nullifier: this.keys.nullifier(id, canonical), ratings }
      : { tokenHash: '', nullifier: '', ratings };
    return new Promise<void>((resolve, reject) => {
      let queue = this.queues.get(id);
      if (!queue) {
        queue = [];
        this.queues.set(id, queue);
        // After the requests already read from the sockets have queued their ballots too: one append for all of them.
        setImmediate(() => void this.lock.run(id, () => this.drain(id)));
      }
      queue.push({ command, resolve, reject });
    });
  }

  private async drain(id: string): Promise<void> {
    const queue = this.queues.get(id) ?? [];
    this.queues.delete(id);
    for (let i = 0; i < queue.length; i += MAX_BATCH) await this.commit(id, queue.slice(i, i + MAX_BATCH));
  }

  private async commit(id: string, batch: PendingBallot[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      let accepted: { ballot: PendingBallot; event: BallotCast }[] = [];
      try {
        const state = await this.repo.load(id);
        if (!state) throw notFound(id);
        if (state.status === 'open' && state.nullifierKey !== this.keys.fingerprint) {
          throw new DomainError(
            'BALLOT_KEY_CHANGED',
            'the service secret that keys ballot nullifiers changed since this evaluation opened; restore DOCKET_JWT_SECRET to take ballots',
          );
        }
        decideBallots(state, pending.map((p) => p.command)).forEach((d, i) => {
          if (d.error) pending[i].reject(d.error);
          else accepted.push({ ballot: pending[i], event: d.event });
        });
        if (accepted.length === 0) return;
        shuffle(accepted);
        await this.repo.append(
          id,
          state,
          accepted.map((a) => a.event),
          ballotMetadata(this.clock.now()),
        );
        for (const a of accepted) a.ballot.resolve();
        return;
      } catch (e) {
        if (e instanceof ConcurrencyError && attempt < MAX_CONFLICT_RETRIES) {
          pending = accepted.map((a) => a.ballot);
          continue;
        }
        for (const p of accepted.length ? accepted.map((a) => a.ballot) : pending) p.reject(e);
        return;
      }
    }
  }

  /**
   * Closes the evaluation: the tally over every ballot cast goes into EvaluationClosed, and
   * the turnout and tally hash into the campaign's stream. Closing a closed evaluation is
   * refused, but first makes sure the campaign has recorded it (a crash may have come between).
   */
  async close(id: string, meta: CommandMeta): Promise<EvaluationView> {
    const current = await this.require(id);
    const already = current.status === 'closed';
    const closed = already ? current : await this.write(id, { type: 'CloseEvaluation' }, meta);
    const cast = castByGroup(closed);
    await this.executor.execute(
      closed.campaignId,
      {
        type: 'RecordEvaluationClosed',
        data: {
          evaluationId: closed.id,
          evaluation: closed.evaluation,
          stage: closed.stage,
          issued: closed.groups.reduce((n, g) => n + g.ballots, 0),
          cast: Object.values(cast).reduce((n, c) => n + c, 0),
          groups: Object.fromEntries(closed.groups.map((g) => [g.id, { issued: g.ballots, cast: cast[g.id] }])),
          tallyHash: closed.tallyHash!,
        },
      },
      { actor: meta.actor, correlationId: meta.correlationId },
    );
    if (already) throw new DomainError('EVALUATION_CLOSED', `evaluation ${id} is already closed`, { id, closedAt: closed.closedAt });
    return evaluationView(closed);
  }

  async view(id: string): Promise<EvaluationView> {
    return evaluationView(await this.require(id));
  }

  /**
   * The auditor's recount: from the stored stream (never the cache) with the functions the
   * close used, compared with the published tally, and the tally hash compared with the one
   * the campaign recorded.
   */
  async verify(id: string): Promise<EvaluationAudit & { campaign: CampaignAnchor | null }> {
    const events = await this.repo.events(id);
    if (events.length === 0) throw notFound(id);
    const audit = auditEvaluation(events);
    const campaignId = events[0].type === 'EvaluationOpened' ? events[0].data.campaignId : null;
    const anchor = campaignId ? campaignAnchor(await this.campaigns.load(campaignId), id, audit) : null;
    return { ...audit, ok: audit.ok && (anchor?.ok ?? false), campaign: anchor };
  }

  async csv(id: string): Promise<{ csv: string; state: EvaluationState }> {
    const state = await this.require(id);
    if (state.status !== 'closed' || !state.tally) {
      throw new DomainError('EVALUATION_NOT_CLOSED', `evaluation ${id} is ${state.status}; its result is published when it closes`, { id, status: state.status });
    }
    return { csv: tallyCsv(state.tally, state.subjects), state };
  }
}
