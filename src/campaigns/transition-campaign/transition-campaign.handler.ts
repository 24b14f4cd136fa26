import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CampaignCommandExecutor, CommandOptions } from '../campaign-command.executor';
import type { StageAdvanced } from '../domain/campaign-events';

export interface TransitionAnswer {
  id: string;
  event: string;
  from: string;
  stage: string;
  status: 'active' | 'completed';
  revision: number;
}

export class TransitionCampaignCommand extends Command<TransitionAnswer> {
  constructor(
    readonly campaignId: string,
    readonly input: { event: string; reason?: string },
    readonly options: CommandOptions,
  ) {
    super();
  }
}

@CommandHandler(TransitionCampaignCommand)
export class TransitionCampaignHandler implements ICommandHandler<TransitionCampaignCommand> {
  constructor(private readonly executor: CampaignCommandExecutor) {}

  async execute({ campaignId, input, options }: TransitionCampaignCommand): Promise<TransitionAnswer> {
    const { events } = await this.executor.execute(campaignId, { type: 'TriggerTransition', data: input }, options);
    const advanced = events[0] as unknown as StageAdvanced;
    const last = events[events.length - 1];
    return {
      id: campaignId,
      event: advanced.data.event,
      from: advanced.data.from,
      stage: advanced.data.to,
      status: events.some((e) => e.type === 'CampaignCompleted') ? 'completed' : 'active',
      revision: last.revision,
    };
  }
}
