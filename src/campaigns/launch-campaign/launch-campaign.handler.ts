import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { CampaignCommandExecutor, CommandOptions } from '../campaign-command.executor';
import { WorkflowRegistry } from '../../workflows/workflow.registry';
import type { UnitRef } from '../domain/campaign-events';

export interface LaunchAnswer {
  id: string;
  stage: string;
  status: string;
  revision: number;
}

export class LaunchCampaignCommand extends Command<LaunchAnswer> {
  constructor(
    readonly campaignId: string,
    readonly input: { workflow: string; workflowVersion?: number; title: string; units: UnitRef[]; deadlines?: Record<string, string> },
    readonly options: CommandOptions,
  ) {
    super();
  }
}

@CommandHandler(LaunchCampaignCommand)
export class LaunchCampaignHandler implements ICommandHandler<LaunchCampaignCommand> {
  constructor(
    private readonly executor: CampaignCommandExecutor,
    private readonly workflows: WorkflowRegistry,
  ) {}

  async execute({ campaignId, input, options }: LaunchCampaignCommand): Promise<LaunchAnswer> {
    const workflow = this.workflows.get(input.workflow, input.workflowVersion);
    const { events } = await this.executor.execute(
      campaignId,
      { type: 'LaunchCampaign', data: { campaignId, title: input.title, workflow, units: input.units, deadlines: input.deadlines } },
      options,
    );
    const launched = events[0];
    return { id: campaignId, stage: (launched.data as any).stage, status: 'active', revision: launched.revision };
  }
}
