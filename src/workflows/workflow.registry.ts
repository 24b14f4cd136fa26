import { DomainError } from '../common/domain/domain-error';
import type { WorkflowDefinition } from './domain/workflow-definition';
import { buildStageMachine } from './domain/machine';

/** The workflow definitions loaded at boot from workflows/ (every version of every id). */
export class WorkflowRegistry {
  private readonly byId = new Map<string, WorkflowDefinition[]>();

  constructor(definitions: WorkflowDefinition[]) {
    for (const d of definitions) {
      const versions = this.byId.get(d.id) ?? [];
      versions.push(d);
      versions.sort((a, b) => a.version - b.version);
      this.byId.set(d.id, versions);
      buildStageMachine(d); // fail at boot, not at the first launch
    }
  }

  /** The latest version of each workflow. */
  list(): WorkflowDefinition[] {
    return [...this.byId.values()].map((v) => v[v.length - 1]);
  }

  versions(id: string): WorkflowDefinition[] {
    return this.byId.get(id) ?? [];
  }

  get(id: string, version?: number): WorkflowDefinition {
    const versions = this.byId.get(id);
    const def = versions && (version === undefined ? versions[versions.length - 1] : versions.find((v) => v.version === version));
    if (!def) {
      throw new DomainError('UNKNOWN_WORKFLOW', `no workflow ${id}${version !== undefined ? ` version ${version}` : ''}`, {
        workflow: id,
        known: [...this.byId.keys()],
      });
    }
    return def;
  }
}
