import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CampaignCommandExecutor, CommandOptions } from '../campaign-command.executor';
import type { DeliverableSubmitted } from '../domain/campaign-events';

export interface SubmissionAnswer {
  campaign: string;
  stage: string;
  unit: string;
  deliverable: string;
  status: 'submitted';
  version: number;
  revision: number;
}

export class SubmitDeliverableCommand extends Command<SubmissionAnswer> {
  constructor(
    readonly campaignId: string,
    readonly input: { unit: string; deliverable: string; title: string; content?: string; url?: string },
    readonly options: CommandOptions,
  ) {
    super();
  }
}

@CommandHandler(SubmitDeliverableCommand)
export class SubmitDeliverableHandler implements ICommandHandler<SubmitDeliverableCommand> {
  constructor(private readonly executor: CampaignCommandExecutor) {}

  async execute({ campaignId, input, options }: SubmitDeliverableCommand): Promise<SubmissionAnswer> {
    const { events } = await this.executor.execute(campaignId, { type: 'SubmitDeliverable', data: input }, options);
    const e = events[0] as unknown as DeliverableSubmitted & { revision: number };
    return {
      campaign: campaignId,
      stage: e.data.stage,
      unit: e.data.unit,
      deliverable: e.data.deliverable,
      status: 'submitted',
      version: e.data.version,
      revision: e.revision,
    };
  }
}
