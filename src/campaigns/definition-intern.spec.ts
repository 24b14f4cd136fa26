import { resolve } from 'node:path';
import { loadWorkflowsDir } from '../workflows/workflow-loader';
import type { WorkflowDefinition } from '../workflows/domain/workflow-definition';
import { canonicalJson, sameJson } from '../audit/domain/hash-chain';
import { DefinitionIntern } from './definition-intern';

const WORKFLOWS = resolve(__dirname, '../../workflows');
/** A fresh parse of a shipped definition, as each CampaignLaunched event yields one. */
const parsed = (): WorkflowDefinition => JSON.parse(JSON.stringify(loadWorkflowsDir(WORKFLOWS).find((w) => w.id === 'three-searches')!));

describe('DefinitionIntern', () => {
  it('gives equal definitions parsed from different events one shared instance', () => {
    const intern = new DefinitionIntern();
    const first = intern.intern(parsed());
    const second = intern.intern(parsed());
    expect(second).toBe(first);
    expect(intern.size).toBe(1);
  });

  it('matches definitions whose keys come in another order (canonical JSON)', () => {
    const intern = new DefinitionIntern();
    const def = parsed();
    const reordered = Object.fromEntries(Object.entries(parsed()).reverse()) as unknown as WorkflowDefinition;
    expect(intern.intern(reordered)).toBe(intern.intern(def));
  });

  it('keeps two different definitions published under one id and version apart', () => {
    const intern = new DefinitionIntern();
    const original = intern.intern(parsed());
    const edited = parsed();
    edited.stages[0].title = { zh: '学习讨论（修订）', en: 'Learning (revised)' };
    const shared = intern.intern(edited);
    expect(shared).not.toBe(original);
    expect(shared.stages[0].title.en).toBe('Learning (revised)');
    expect(original.stages[0].title.en).not.toBe('Learning (revised)');
    expect(intern.intern(parsed())).toBe(original);
    expect(intern.size).toBe(2);
  });

  it('keeps the same content under another version apart', () => {
    const intern = new DefinitionIntern();
    const v1 = intern.intern(parsed());
    const v2 = intern.intern({ ...parsed(), version: parsed().version + 1 });
    expect(v2).not.toBe(v1);
    expect(v2.version).toBe(v1.version + 1);
  });

  it('freezes a shared definition all the way down, so a write to it fails instead of changing other campaigns', () => {
    const def = new DefinitionIntern().intern(parsed());
    expect(Object.isFrozen(def)).toBe(true);
    expect(Object.isFrozen(def.stages[0])).toBe(true);
    expect(Object.isFrozen(def.stages[0].deliverables![0].title)).toBe(true);
    expect(() => {
      (def.stages[0] as { id: string }).id = 'changed';
    }).toThrow(TypeError);
  });

  it('hands a shared instance straight back', () => {
    const intern = new DefinitionIntern();
    const def = intern.intern(parsed());
    expect(intern.intern(def)).toBe(def);
    expect(intern.size).toBe(1);
  });
});

describe('sameJson', () => {
  const cases: [string, unknown, unknown][] = [
    ['equal objects in another key order', { a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }],
    ['an undefined member and a missing one', { a: 1, b: undefined }, { a: 1 }],
    ['another value', { a: 1 }, { a: 2 }],
    ['an extra member', { a: 1 }, { a: 1, b: null }],
    ['arrays of another length', [1, 2], [1, 2, 3]],
    ['an array and an object', [], {}],
    ['a number and its string', 1, '1'],
  ];
  it.each(cases)('agrees with canonical JSON on %s', (_name, a, b) => {
    const canonicallyEqual = canonicalJson(a) === canonicalJson(b);
    expect(sameJson(a, b)).toBe(canonicallyEqual);
    expect(sameJson(b, a)).toBe(canonicallyEqual);
  });

  it('agrees with canonical JSON on a shipped definition and an edited copy', () => {
    const a = parsed();
    const b = parsed();
    expect(sameJson(a, b)).toBe(true);
    b.stages[1].deliverables = [];
    expect(sameJson(a, b)).toBe(canonicalJson(a) === canonicalJson(b));
    expect(sameJson(a, b)).toBe(false);
  });
});
