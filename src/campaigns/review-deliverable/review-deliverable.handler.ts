import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CampaignCommandExecutor, CommandOptions } from '../campaign-command.executor';
import type { DeliverableReviewed } from '../domain/campaign-events';

export interface ReviewAnswer {
  campaign: string;
  stage: string;
  unit: string;
  deliverable: string;
  status: 'approved' | 'returned';
  version: number;
  revision: number;
}

export class ReviewDeliverableCommand extends Command<ReviewAnswer> {
  constructor(
    readonly campaignId: string,
    readonly input: { unit: string; deliverable: string; decision: 'approved' | 'returned'; comment?: string },
    readonly options: CommandOptions,
  ) {
    super();
  }
}

@CommandHandler(ReviewDeliverableCommand)
export class ReviewDeliverableHandler implements ICommandHandler<ReviewDeliverableCommand> {
  constructor(private readonly executor: CampaignCommandExecutor) {}

  async execute({ campaignId, input, options }: ReviewDeliverableCommand): Promise<ReviewAnswer> {
    const { events } = await this.executor.execute(campaignId, { type: 'ReviewDeliverable', data: input }, options);
    const e = events[0] as unknown as DeliverableReviewed & { revision: number };
    return {
      campaign: campaignId,
      stage: e.data.stage,
      unit: e.data.unit,
      deliverable: e.data.deliverable,
      status: e.data.decision,
      version: e.data.version,
      revision: e.revision,
    };
  }
}
