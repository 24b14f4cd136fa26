import type { UnitRef } from './domain/campaign-events';
import type { CampaignState } from './domain/campaign-state';
import { sameJson } from '../audit/domain/hash-chain';
import { deepFreeze, DefinitionIntern } from './definition-intern';

/**
 * One shared units list, with its Set of ids, per distinct list of units.
 *
 * A bureau launches campaign after campaign for the same schools and branches; each folded
 * state would otherwise hold its own parsed list and its own Set (about 7 KiB for 100 units).
 * Lists are found by a 32-bit FNV-1a hash of their ids and names, and shared only when equal as
 * canonical JSON (ids, names and anything else a unit carries). They are held weakly: a list
 * no campaign state uses any more is collected, and its entry goes with it.
 */
export class UnitListIntern {
  private readonly byKey = new Map<string, WeakRef<UnitRef[]>[]>();
  private readonly idsOf = new WeakMap<UnitRef[], Set<string>>();
  private readonly cleanup = new FinalizationRegistry<string>((key) => this.prune(key));

  /**
   * The shared list equal to `units` and its id Set; `units` itself (frozen) with `unitIds`
   * when it is the first of its kind. A Set that does not hold exactly the list's ids is left alone.
   */
  intern(units: UnitRef[], unitIds: Set<string>): { units: UnitRef[]; unitIds: Set<string> } {
    const known = this.idsOf.get(units);
    if (known) return { units, unitIds: known };
    if (unitIds.size !== units.length || !units.every((u) => unitIds.has(u.id))) return { units, unitIds };
    const key = `${units.length}:${unitsHash(units)}`;
    const refs = this.byKey.get(key) ?? [];
    for (const ref of refs) {
      const found = ref.deref();
      if (found && sameJson(found, units)) return { units: found, unitIds: this.idsOf.get(found)! };
    }
    deepFreeze(units);
    this.idsOf.set(units, unitIds);
    refs.push(new WeakRef(units));
    this.byKey.set(key, refs);
    this.cleanup.register(units, key);
    return { units, unitIds };
  }

  /** Distinct lists still registered (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const refs of this.byKey.values()) n += refs.length;
    return n;
  }

  private prune(key: string): void {
    const live = (this.byKey.get(key) ?? []).filter((r) => r.deref() !== undefined);
    if (live.length) this.byKey.set(key, live);
    else this.byKey.delete(key);
  }
}

/** FNV-1a over the units' ids and names: cheap, and enough to keep unrelated lists out of each other's way. */
function unitsHash(units: readonly UnitRef[]): string {
  let h = 0x811c9dc5;
  const mix = (text: unknown) => {
    const s = String(text);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x1f, 0x01000193);
  };
  for (const u of units) {
    mix(u.id);
    mix(u.name);
  }
  return (h >>> 0).toString(36);
}

/**
 * Makes a folded state share the parts campaigns have in common — its workflow definition,
 * its units list and their id Set — with every other state that has equal ones. The parts
 * are immutable once launched (evolve never writes to them, cloneState already shares them),
 * so sharing changes no behaviour, only memory (docs/operations.md, "Memory").
 */
export class CampaignStateIntern {
  readonly definitions = new DefinitionIntern();
  readonly unitLists = new UnitListIntern();

  /** Swaps the state's definition, units and unitIds for the shared instances, in place. */
  intern(state: CampaignState): CampaignState {
    state.definition = this.definitions.intern(state.definition);
    const shared = this.unitLists.intern(state.units, state.unitIds);
    state.units = shared.units;
    state.unitIds = shared.unitIds;
    return state;
  }
}

/** The process's pool: the states every repository caches share one copy of what they have in common. */
export const sharedCampaignParts = new CampaignStateIntern();
