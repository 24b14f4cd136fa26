import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CampaignCommandExecutor, CommandOptions } from '../campaign-command.executor';
import type { DeadlineChanged } from '../domain/campaign-events';

export interface DeadlineAnswer {
  campaign: string;
  stage: string;
  from: string | null;
  deadline: string;
  revision: number;
}

export class ChangeDeadlineCommand extends Command<DeadlineAnswer> {
  constructor(
    readonly campaignId: string,
    readonly input: { stage: string; deadline: string; reason: string },
    readonly options: CommandOptions,
  ) {
    super();
  }
}

@CommandHandler(ChangeDeadlineCommand)
export class ChangeDeadlineHandler implements ICommandHandler<ChangeDeadlineCommand> {
  constructor(private readonly executor: CampaignCommandExecutor) {}

  async execute({ campaignId, input, options }: ChangeDeadlineCommand): Promise<DeadlineAnswer> {
    const { events } = await this.executor.execute(campaignId, { type: 'ChangeDeadline', data: input }, options);
    const e = events[0] as unknown as DeadlineChanged & { revision: number };
    return { campaign: campaignId, stage: e.data.stage, from: e.data.from, deadline: e.data.to, revision: e.revision };
  }
}
