import { resolve } from 'node:path';
import { recorded } from '../../test/support/campaign-spec';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import type { CampaignEvent, UnitRef } from './domain/campaign-events';
import { CampaignState, evolve, replay } from './domain/campaign-state';
import { CampaignStateIntern, UnitListIntern } from './campaign-state-intern';

const def = loadWorkflowsDir(resolve(__dirname, '../../workflows')).find((w) => w.id === 'three-searches')!;
const units = (n: number, name = (i: number) => `单位${i}`): UnitRef[] => Array.from({ length: n }, (_, i) => ({ id: `unit-${i + 1}`, name: name(i + 1) }));

/** A campaign folded from its own freshly parsed events, as the repository folds one read from the log. */
function folded(id: string, unitList = units(3)): CampaignState {
  const history: CampaignEvent[] = [
    { type: 'CampaignLaunched', data: { campaignId: id, title: id, workflow: def, units: unitList, deadlines: {}, stage: def.initial } },
    { type: 'DeliverableSubmitted', data: { stage: def.initial, unit: 'unit-1', deliverable: def.stages[0].deliverables![0].id, title: 'x', version: 1 } },
  ];
  return replay(JSON.parse(JSON.stringify(recorded(history))))!;
}

describe('CampaignStateIntern', () => {
  it('makes campaigns launched with the same definition and units share one copy of each', () => {
    const intern = new CampaignStateIntern();
    const a = intern.intern(folded('a'));
    const b = intern.intern(folded('b'));
    expect(b.definition).toBe(a.definition);
    expect(b.units).toBe(a.units);
    expect(b.unitIds).toBe(a.unitIds);
    expect([...b.unitIds]).toEqual(['unit-1', 'unit-2', 'unit-3']);
  });

  it('leaves each campaign its own deliverables, stages and idempotency records', () => {
    const intern = new CampaignStateIntern();
    const a = intern.intern(folded('a'));
    const b = intern.intern(folded('b'));
    expect(b.deliverables).not.toBe(a.deliverables);
    expect(b.stages).not.toBe(a.stages);
    expect(b.idempotency).not.toBe(a.idempotency);
  });

  it('keeps campaigns with other units, or the same ids under other names, apart', () => {
    const intern = new CampaignStateIntern();
    const a = intern.intern(folded('a', units(3)));
    const more = intern.intern(folded('b', units(4)));
    const renamed = intern.intern(folded('c', units(3, (i) => `学校${i}`)));
    expect(more.units).not.toBe(a.units);
    expect(renamed.units).not.toBe(a.units);
    expect(renamed.units.map((u) => u.name)).toEqual(['学校1', '学校2', '学校3']);
    expect(renamed.definition).toBe(a.definition);
  });

  it('folds further events into an interned state exactly as into its own copy', () => {
    const intern = new CampaignStateIntern();
    intern.intern(folded('a'));
    const shared = intern.intern(folded('b'));
    const own = folded('b');
    const next = recorded([
      { type: 'CampaignLaunched', data: { campaignId: 'b', title: 'b', workflow: def, units: units(3), deadlines: {}, stage: def.initial } },
      { type: 'DeliverableSubmitted', data: { stage: def.initial, unit: 'unit-1', deliverable: def.stages[0].deliverables![0].id, title: 'x', version: 1 } },
      { type: 'DeliverableSubmitted', data: { stage: def.initial, unit: 'unit-2', deliverable: def.stages[0].deliverables![0].id, title: 'y', version: 1 } },
    ])[2];
    expect(evolve(shared, next)).toEqual(evolve(own, next));
  });

  it('hands back the shared parts of a state that already has them without looking again', () => {
    const intern = new CampaignStateIntern();
    const a = intern.intern(folded('a'));
    const { definition, units: list, unitIds } = a;
    intern.intern(a);
    expect(a.definition).toBe(definition);
    expect(a.units).toBe(list);
    expect(a.unitIds).toBe(unitIds);
    expect(intern.unitLists.size).toBe(1);
    expect(intern.definitions.size).toBe(1);
  });
});

describe('UnitListIntern', () => {
  it('freezes a shared list and its units', () => {
    const list = units(2);
    const shared = new UnitListIntern().intern(list, new Set(['unit-1', 'unit-2'])).units;
    expect(Object.isFrozen(shared)).toBe(true);
    expect(Object.isFrozen(shared[0])).toBe(true);
  });

  it('keeps a list whose units carry other members apart, and shares an equal one', () => {
    const intern = new UnitListIntern();
    const ids = () => new Set(['unit-1', 'unit-2']);
    const plain = intern.intern(units(2), ids()).units;
    const withEmail = intern.intern(units(2).map((u) => ({ ...u, email: `${u.id}@example.org` })), ids()).units;
    expect(withEmail).not.toBe(plain);
    expect(intern.intern(units(2), ids()).units).toBe(plain);
    expect(intern.size).toBe(2);
  });

  it('leaves a list alone when its id Set does not hold exactly its ids', () => {
    const intern = new UnitListIntern();
    const list = units(2);
    const odd = new Set(['unit-1']);
    const result = intern.intern(list, odd);
    expect(result.units).toBe(list);
    expect(result.unitIds).toBe(odd);
    expect(Object.isFrozen(list)).toBe(false);
    expect(intern.size).toBe(0);
  });
});
