import { decide, CampaignCommand } from '../../src/campaigns/domain/decide';
import type { CampaignEvent, RecordedCampaignEvent } from '../../src/campaigns/domain/campaign-events';
import { CampaignState, replay } from '../../src/campaigns/domain/campaign-state';
import type { Actor } from '../../src/common/domain/domain-error';
import { DomainError } from '../../src/common/domain/domain-error';

export const BUREAU: Actor = { sub: 'bureau-office', role: 'bureau' };

/** Recorded envelopes for plain events, at the given instant(s): what the log would hold. */
export function recorded(events: CampaignEvent[], at: string | ((i: number) => string) = '2013-09-01T00:00:00.000Z', actor: Actor = BUREAU): RecordedCampaignEvent[] {
  return events.map((e, i) => ({
    ...e,
    id: `e${i}`,
    revision: i,
    metadata: {
      actor,
      occurredAt: typeof at === 'string' ? at : at(i),
      correlationId: 'c',
      prevHash: String(i - 1),
      hash: String(i),
    },
  })) as RecordedCampaignEvent[];
}

/**
 * Given/when/then for the campaign decider (after Emmett's DeciderSpecification):
 * given past events, when a command is decided at `now`, then these events — or this refusal.
 */
export function given(events: CampaignEvent[], at?: string) {
  const state: CampaignState | null = replay(recorded(events, at));
  return {
    state,
    when(command: CampaignCommand, now = new Date('2013-10-01T00:00:00.000Z'), actor: Actor = BUREAU) {
      const run = () => decide(command, state, { actor, now });
      return {
        then(expected: CampaignEvent[]) {
          expect(run()).toEqual(expected);
        },
        thenRefuses(code: string, details?: Record<string, unknown>) {
          let error: unknown;
          try {
            run();
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(DomainError);
          expect((error as DomainError).code).toBe(code);
          if (details) expect((error as DomainError).details).toMatchObject(details);
        },
      };
    },
  };
}
