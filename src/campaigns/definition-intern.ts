import { sameJson } from '../audit/domain/hash-chain';
import type { WorkflowDefinition } from '../workflows/domain/workflow-definition';

/**
 * One shared instance per distinct workflow definition.
 *
 * Every CampaignLaunched carries its whole definition (DESIGN §2), so each folded campaign
 * would hold its own parsed copy (about 9 KiB for three-searches): with thousands of cached
 * campaigns that is most of the memory they cost. Interned, campaigns launched with the same
 * definition hold the same frozen object (and so share one XState machine, which is cached
 * per definition object).
 *
 * Candidates are looked up by `id@version` and shared only when equal as canonical JSON
 * (sameJson): two different definitions published under one id and version (a file edited
 * without a version bump) stay apart, so a replay always sees the rules its campaign was
 * launched with. Instances are held weakly: a definition no campaign state uses is collected.
 */
export class DefinitionIntern {
  private readonly byKey = new Map<string, WeakRef<WorkflowDefinition>[]>();
  private readonly shared = new WeakSet<object>();

  /** The shared instance equal to `definition`; `definition` itself (frozen) when it is the first of its kind. */
  intern(definition: WorkflowDefinition): WorkflowDefinition {
    if (this.shared.has(definition)) return definition;
    const key = `${definition.id}@${definition.version}`;
    const live = (this.byKey.get(key) ?? []).filter((ref) => ref.deref() !== undefined);
    for (const ref of live) {
      const found = ref.deref();
      if (found && sameJson(found, definition)) return found;
    }
    deepFreeze(definition);
    this.shared.add(definition);
    live.push(new WeakRef(definition));
    this.byKey.set(key, live);
    return definition;
  }

  /** Distinct definitions still alive (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const refs of this.byKey.values()) n += refs.filter((ref) => ref.deref() !== undefined).length;
    return n;
  }
}

/** Freezes a JSON-like value and everything it holds: a shared definition must fail loudly if anyone writes to it. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value as object)) deepFreeze(v);
  return value;
}
