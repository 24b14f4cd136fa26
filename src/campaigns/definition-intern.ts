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

/**
 * Whether two JSON values have the same canonical JSON (src/audit/domain/hash-chain.ts:
 * the same members in any key order, undefined members ignored), compared in place rather
 * than by building both strings (several times faster on a definition). Stricter only where
 * JSON.parse never goes (undefined or NaN inside arrays), so it never equates two values
 * whose canonical forms differ.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k of Object.keys(x)) {
    if (x[k] === undefined) continue;
    defined++;
    if (!Object.prototype.hasOwnProperty.call(y, k) || !sameJson(x[k], y[k])) return false;
  }
  for (const k of Object.keys(y)) if (y[k] !== undefined) defined--;
  return defined === 0;
}

/** Freezes a JSON-like value and everything it holds: a shared definition must fail loudly if anyone writes to it. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value as object)) deepFreeze(v);
  return value;
}
