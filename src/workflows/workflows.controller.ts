import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { DomainError } from '../common/domain/domain-error';
import { buildStageMachine } from './domain/machine';
import { WorkflowRegistry } from './workflow.registry';

@ApiTags('workflows')
@ApiBearerAuth()
@Controller('api/workflows')
export class WorkflowsController {
  constructor(private readonly registry: WorkflowRegistry) {}

  @Get()
  @Roles('bureau', 'unit', 'auditor')
  @ApiOperation({ summary: 'The campaign types this service runs (latest version of each)' })
  list() {
    return {
      items: this.registry.list().map((d) => ({
        id: d.id,
        version: d.version,
        versions: this.registry.versions(d.id).map((v) => v.version),
        title: d.title,
        description: d.description,
        source: d.source,
        initial: d.initial,
        stages: d.stages.map((s) => ({ id: s.id, title: s.title, final: s.final ?? false })),
      })),
    };
  }

  @Get(':id')
  @Roles('bureau', 'unit', 'auditor')
  @ApiOperation({ summary: 'A workflow definition with its statechart (?version=N, default latest)' })
  get(@Param('id') id: string, @Query('version') version?: string) {
    let v: number | undefined;
    if (version !== undefined) {
      v = Number(version);
      if (!Number.isInteger(v) || v < 1) throw new DomainError('INVALID_QUERY', 'version must be a positive integer');
    }
    let def;
    try {
      def = this.registry.get(id, v);
    } catch (e) {
      if (e instanceof DomainError) throw new DomainError('WORKFLOW_NOT_FOUND', e.message, e.details);
      throw e;
    }
    return { ...def, statechart: buildStageMachine(def).config };
  }
}
