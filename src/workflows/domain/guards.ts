import type { GuardDefinition, GuardName } from './workflow-definition';
import { addDuration } from './duration';

export type UnitStatus = 'missing' | 'submitted' | 'approved' | 'returned';

/** What a guard may look at: plain facts about the campaign at `now`. Nothing here reads a clock. */
export interface GuardFacts {
  now: Date;
  stageEnteredAt: string;
  /** The current stage's deadline, if it has one. */
  deadline?: string;
  unitIds: readonly string[];
  statusOf(unit: string, deliverable: string): UnitStatus;
}

export type Blocker =
  | { guard: 'allUnitsSubmitted' | 'allUnitsApproved'; deliverable: string; units: string[] }
  | { guard: 'after'; until: string | null; reason: string };

export function guardName(g: GuardDefinition): GuardName {
  return Object.keys(g)[0] as GuardName;
}

/** null when the guard holds; otherwise what blocks it (which guard, which deliverable, which units). */
export function evaluateGuard(g: GuardDefinition, facts: GuardFacts): Blocker | null {
  if ('allUnitsSubmitted' in g) {
    const { deliverable } = g.allUnitsSubmitted;
    const units = facts.unitIds.filter((u) => {
      const s = facts.statusOf(u, deliverable);
      return s === 'missing' || s === 'returned';
    });
    return units.length ? { guard: 'allUnitsSubmitted', deliverable, units } : null;
  }
  if ('allUnitsApproved' in g) {
    const { deliverable } = g.allUnitsApproved;
    const units = facts.unitIds.filter((u) => facts.statusOf(u, deliverable) !== 'approved');
    return units.length ? { guard: 'allUnitsApproved', deliverable, units } : null;
  }
  if ('after' in g) {
    const p = g.after as { date?: string; deadline?: true; duration?: string };
    let until: string | null;
    if (p.date) until = new Date(p.date).toISOString();
    else if (p.duration) until = addDuration(facts.stageEnteredAt, p.duration).toISOString();
    else until = facts.deadline ?? null;
    if (until === null) return { guard: 'after', until: null, reason: 'the stage has no deadline' };
    return facts.now.getTime() >= Date.parse(until) ? null : { guard: 'after', until, reason: `not before ${until}` };
  }
  return { guard: 'after', until: null, reason: `unknown guard ${JSON.stringify(g)}` };
}

export function evaluateGuards(guards: readonly GuardDefinition[] | undefined, facts: GuardFacts): Blocker[] {
  const out: Blocker[] = [];
  for (const g of guards ?? []) {
    const b = evaluateGuard(g, facts);
    if (b) out.push(b);
  }
  return out;
}
