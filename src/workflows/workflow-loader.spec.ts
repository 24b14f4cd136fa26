import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DomainError } from '../common/domain/domain-error';
import { DURATION_PATTERN } from './domain/duration';
import type { WorkflowDefinition } from './domain/workflow-definition';
import {
  loadWorkflowFile,
  loadWorkflowsDir,
  validateWorkflow,
  WORKFLOW_SCHEMA_PATH,
  workflowSchema,
  WORKFLOWS_DIR,
  WorkflowValidationError,
} from './workflow-loader';

const text = (zh: string, en: string) => ({ zh, en });

/** A small valid definition; tests break one thing at a time. */
function sample(): any {
  return {
    id: 'sample',
    version: 1,
    title: text('样例', 'Sample'),
    initial: 'drafting',
    stages: [
      {
        id: 'drafting',
        title: text('起草', 'Drafting'),
        deadline: 'P14D',
        deliverables: [{ id: 'plan', title: text('方案', 'Plan'), review: true }],
        reminders: { before: 'P3D', at: true, every: 'P2D', escalateAfter: 'P7D' },
        transitions: [
          {
            event: 'ADVANCE',
            target: 'done',
            guards: [{ allUnitsSubmitted: { deliverable: 'plan' } }, { allUnitsApproved: { deliverable: 'plan' } }],
          },
        ],
      },
      { id: 'done', title: text('结束', 'Done'), final: true },
    ],
  };
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowValidationError);
    return (err as Error).message.split('\n');
  }
  throw new Error('expected a WorkflowValidationError');
}

const invalid = (def: unknown) => problemsOf(() => validateWorkflow(def, 'test.yaml'));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'docket-workflows-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('the shipped workflows', () => {
  const byId = () => new Map(loadWorkflowsDir().map((d) => [d.id, d]));

  it('all load and validate from workflows/', () => {
    expect([...byId().keys()].sort()).toEqual(['advanced-nature', 'strive-for-excellence', 'three-searches']);
  });

  it('three-searches runs learning → rectification → consolidation → long-term-mechanism → looking-back → concluded', () => {
    const def = byId().get('three-searches')!;
    expect(def.version).toBe(1);
    expect(def.initial).toBe('learning');
    expect(def.stages.map((s) => s.id)).toEqual([
      'learning',
      'rectification',
      'consolidation',
      'long-term-mechanism',
      'looking-back',
      'concluded',
    ]);
    expect(def.stages.map((s) => s.transitions?.map((t) => `${t.event}→${t.target}`))).toEqual([
      ['ADVANCE→rectification'],
      ['ADVANCE→consolidation'],
      ['ADVANCE→long-term-mechanism'],
      ['ADVANCE→looking-back'],
      ['COMPLETE→concluded'],
      undefined,
    ]);
    expect(def.stages[5].final).toBe(true);
  });

  it('three-searches leaves rectification only when every plan is submitted, then approved', () => {
    const rectification = byId().get('three-searches')!.stages[1];
    expect(rectification.deliverables).toContainEqual(expect.objectContaining({ id: 'rectification-plan', review: true }));
    expect(rectification.transitions![0].guards).toEqual([
      { allUnitsSubmitted: { deliverable: 'rectification-plan' } },
      { allUnitsApproved: { deliverable: 'rectification-plan' } },
    ]);
  });

  it('every stage with deliverables has a relative deadline and a reminder policy', () => {
    for (const def of loadWorkflowsDir()) {
      for (const stage of def.stages.filter((s) => s.deliverables?.length)) {
        expect({ stage: `${def.id}/${stage.id}`, deadline: !!stage.deadline, reminders: !!stage.reminders }).toEqual({
          stage: `${def.id}/${stage.id}`,
          deadline: true,
          reminders: true,
        });
      }
    }
  });

  it('every shipped workflow moves forward with ADVANCE and ends with COMPLETE into a final stage', () => {
    for (const def of loadWorkflowsDir()) {
      const open = def.stages.filter((s) => !s.final);
      expect(open.slice(0, -1).every((s) => s.transitions!.every((t) => t.event === 'ADVANCE'))).toBe(true);
      expect(open[open.length - 1].transitions!.map((t) => t.event)).toEqual(['COMPLETE']);
      expect(def.source).toMatch(/Seeds? 00\d/);
    }
  });

  it('each file points editors at the schema on its first line', () => {
    for (const id of ['three-searches', 'advanced-nature', 'strive-for-excellence']) {
      const first = readFileSync(join(WORKFLOWS_DIR, `${id}.yaml`), 'utf8').split('\n')[0];
      expect(first).toBe('# yaml-language-server: $schema=./workflow.schema.json');
    }
  });
});

describe('the schema', () => {
  it('is exported with its path', () => {
    expect(JSON.parse(readFileSync(WORKFLOW_SCHEMA_PATH, 'utf8'))).toEqual(workflowSchema);
  });

  it('uses the same duration pattern as the duration parser', () => {
    expect((workflowSchema as any).definitions.duration.pattern).toBe(DURATION_PATTERN.source);
  });
});

describe('loadWorkflowFile', () => {
  it('returns the definition written in the file', () => {
    const path = write('sample.yaml', stringify(sample()));
    expect(loadWorkflowFile(path)).toEqual(sample());
  });

  it('names the file, line and column of a YAML syntax error', () => {
    const path = write('broken.yaml', 'id: broken\nstages: [\n  - id: a\n');
    const [first] = problemsOf(() => loadWorkflowFile(path));
    expect(first).toMatch(new RegExp(`^${path}: YAML: .+ \\(line \\d+, column \\d+\\)$`));
  });

  it('refuses a key written twice', () => {
    const path = write('twice.yaml', 'id: a\nid: b\n');
    expect(problemsOf(() => loadWorkflowFile(path))).toEqual([`${path}: YAML: Map keys must be unique (line 2, column 1)`]);
  });

  it('refuses an empty file', () => {
    const path = write('empty.yaml', '# nothing yet\n');
    expect(problemsOf(() => loadWorkflowFile(path))).toEqual([`${path}: the document is empty`]);
  });

  it('names a file it cannot read', () => {
    expect(problemsOf(() => loadWorkflowFile(join(dir, 'missing.yaml')))[0]).toMatch(/missing\.yaml: cannot read: ENOENT/);
  });

  it('points at the line of a misspelt target and suggests the stage meant', () => {
    const yaml = stringify(sample()).replace('target: done', 'target: dnoe');
    const path = write('typo.yaml', yaml);
    const lines = yaml.split('\n');
    const line = lines.findIndex((l) => l.includes('target: dnoe')) + 1;
    const column = lines[line - 1].indexOf('dnoe') + 1;
    expect(problemsOf(() => loadWorkflowFile(path))).toEqual([
      `${path}: stages[0].transitions[0].target: unknown stage "dnoe" (did you mean "done"?) (line ${line}, column ${column})`,
    ]);
  });

  it('points at the key of an unknown property', () => {
    const yaml = stringify(sample()).replace('deadline: P14D', 'dedline: P14D');
    const path = write('unknown.yaml', yaml);
    const line = yaml.split('\n').findIndex((l) => l.includes('dedline')) + 1;
    const [problem] = problemsOf(() => loadWorkflowFile(path));
    expect(problem).toContain(`${path}: stages[0].dedline: unknown property (allowed here: id, title, description, deadline,`);
    expect(problem).toMatch(new RegExp(`\\(line ${line}, column 5\\)$`));
  });

  it('prints problems one per line, without a stack trace', () => {
    const def = sample();
    def.initial = 'nowhere';
    def.stages[0].transitions[0].target = 'elsewhere';
    const lines = problemsOf(() => loadWorkflowFile(write('two.yaml', stringify(def))));
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toMatch(/\bat .+:\d+:\d+/);
  });
});

describe('loadWorkflowsDir', () => {
  it('loads every .yaml and .yml file, sorted by name, and nothing else', () => {
    const b = { ...sample(), id: 'bravo' };
    write('b.yml', stringify(b));
    write('a.yaml', stringify({ ...sample(), id: 'alpha' }));
    write('workflow.schema.json', '{}');
    write('README.md', '# not a workflow');
    expect(loadWorkflowsDir(dir).map((d) => d.id)).toEqual(['alpha', 'bravo']);
  });

  it('refuses the same id and version in two files, naming both', () => {
    const one = write('one.yaml', stringify(sample()));
    const two = write('two.yaml', stringify(sample()));
    expect(problemsOf(() => loadWorkflowsDir(dir))).toEqual([
      `${two}: id: workflow "sample" version 1 is already defined in ${one}`,
    ]);
  });

  it('accepts two versions of one workflow', () => {
    write('sample-v1.yaml', stringify(sample()));
    write('sample-v2.yaml', stringify({ ...sample(), version: 2 }));
    expect(loadWorkflowsDir(dir).map((d) => `${d.id}@${d.version}`)).toEqual(['sample@1', 'sample@2']);
  });

  it('reports the problems of every bad file at once', () => {
    const a = write('a.yaml', 'id: [\n');
    const b = write('b.yaml', stringify({ ...sample(), initial: 'nowhere' }));
    write('c.yaml', stringify({ ...sample(), id: 'fine' }));
    const lines = problemsOf(() => loadWorkflowsDir(dir));
    expect(lines).toHaveLength(2);
    expect(lines[0].startsWith(`${a}: YAML:`)).toBe(true);
    expect(lines[1]).toBe(`${b}: initial: unknown stage "nowhere" (known: drafting, done) (line 6, column 10)`);
  });
});

describe('validateWorkflow', () => {
  it('returns a copy of a valid definition', () => {
    const def = sample();
    const out = validateWorkflow(def, 'api');
    expect(out).toEqual(def);
    expect(out).not.toBe(def);
  });

  it('is a DomainError with code WORKFLOW_INVALID and the problems listed', () => {
    try {
      validateWorkflow({ ...sample(), initial: 'nowhere' }, 'api');
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect(err).toMatchObject({
        code: 'WORKFLOW_INVALID',
        name: 'WorkflowValidationError',
        problems: [{ source: 'api', path: 'initial', message: 'unknown stage "nowhere" (known: drafting, done)' }],
      });
    }
  });

  it('refuses something that is not a mapping', () => {
    expect(invalid('three-searches')).toEqual(['test.yaml: must be a mapping, not string "three-searches"']);
    expect(invalid(null)).toEqual(['test.yaml: the document is empty']);
  });

  describe('against the schema', () => {
    it('requires id, version, title, initial and stages', () => {
      expect(invalid({})).toEqual([
        'test.yaml: id: is required',
        'test.yaml: version: is required',
        'test.yaml: title: is required',
        'test.yaml: initial: is required',
        'test.yaml: stages: is required',
      ]);
    });

    it('requires both zh and en in every text', () => {
      const def = sample();
      def.stages[0].title = { zh: '起草' };
      def.title = { en: 'Sample', fr: 'Exemple' };
      expect(invalid(def).sort()).toEqual([
        'test.yaml: stages[0].title.en: is required',
        'test.yaml: title.fr: unknown property (allowed here: zh, en)',
        'test.yaml: title.zh: is required',
      ]);
    });

    it('wants kebab-case ids and UPPER_SNAKE_CASE events', () => {
      const def = sample();
      def.stages[0].id = 'Drafting Stage';
      def.stages[0].transitions[0].event = 'advance';
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].id: "Drafting Stage" must be kebab-case: lower-case letters, digits and hyphens, starting with a letter (e.g. rectification-plan)',
        'test.yaml: stages[0].transitions[0].event: "advance" must be UPPER_SNAKE_CASE, starting with a letter (e.g. ADVANCE, COMPLETE)',
      ]);
    });

    it('wants a whole version number from 1', () => {
      expect(invalid({ ...sample(), version: 0 })).toEqual(['test.yaml: version: must be a whole number, 1 or more']);
      expect(invalid({ ...sample(), version: '1' })).toEqual(['test.yaml: version: must be a whole number, 1 or more']);
    });

    it('wants every guard to name exactly one known guard', () => {
      const def = sample();
      def.stages[0].transitions[0].guards = [
        { allUnitsSubmitted: { deliverable: 'plan' }, allUnitsApproved: { deliverable: 'plan' } },
        {},
        { allUnitSubmitted: { deliverable: 'plan' } },
        { allUnitsSubmitted: { deliverables: 'plan' } },
      ];
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].transitions[0].guards[0]: must name exactly one guard: allUnitsSubmitted, allUnitsApproved, after, evaluationClosed or minTurnout',
        'test.yaml: stages[0].transitions[0].guards[1]: must name exactly one guard: allUnitsSubmitted, allUnitsApproved, after, evaluationClosed or minTurnout',
        'test.yaml: stages[0].transitions[0].guards[2].allUnitSubmitted: unknown property (allowed here: allUnitsSubmitted, allUnitsApproved, after, evaluationClosed, minTurnout)',
        'test.yaml: stages[0].transitions[0].guards[3].allUnitsSubmitted.deliverable: is required',
        'test.yaml: stages[0].transitions[0].guards[3].allUnitsSubmitted.deliverables: unknown property (allowed here: deliverable)',
      ]);
    });

    it('wants after to be exactly one of date, deadline: true, duration', () => {
      const def = sample();
      def.stages[0].transitions[0].guards = [
        { after: { date: '2014-07-31T18:00:00+08:00' } },
        { after: { deadline: true } },
        { after: { duration: 'P1M' } },
        { after: { deadline: false } },
        { after: { date: '2014-07-31T18:00:00+08:00', duration: 'P1M' } },
        { after: { date: '2014-07-31' } },
        { after: { duration: '30 days' } },
      ];
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].transitions[0].guards[3].after.deadline: must be true',
        'test.yaml: stages[0].transitions[0].guards[4].after: must have exactly one of date, deadline (true) or duration',
        'test.yaml: stages[0].transitions[0].guards[5].after.date: "2014-07-31" must be an ISO-8601 date-time with a UTC offset (e.g. 2014-07-31T18:00:00+08:00)',
        'test.yaml: stages[0].transitions[0].guards[6].after.duration: "30 days" must be an ISO-8601 duration PnYnMnWnDTnHnMnS (e.g. P14D, P2M, PT12H)',
      ]);
    });

    it('wants ISO-8601 durations for deadlines and reminders', () => {
      const def = sample();
      def.stages[0].deadline = '14 days';
      def.stages[0].reminders = { before: 'P3', every: 'PT' };
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].deadline: "14 days" must be an ISO-8601 duration PnYnMnWnDTnHnMnS (e.g. P14D, P2M, PT12H)',
        'test.yaml: stages[0].reminders.before: "P3" must be an ISO-8601 duration PnYnMnWnDTnHnMnS (e.g. P14D, P2M, PT12H)',
        'test.yaml: stages[0].reminders.every: "PT" must be an ISO-8601 duration PnYnMnWnDTnHnMnS (e.g. P14D, P2M, PT12H)',
      ]);
    });

    it('wants every deliverable to say whether the bureau reviews it', () => {
      const def = sample();
      delete def.stages[0].deliverables[0].review;
      expect(invalid(def)).toEqual(['test.yaml: stages[0].deliverables[0].review: is required']);
    });

    it('says which type it wanted', () => {
      const def = sample();
      def.stages[0].transitions = { event: 'ADVANCE', target: 'done' };
      expect(invalid(def)).toEqual(['test.yaml: stages[0].transitions: must be a list, not a mapping']);
    });
  });

  describe('semantic checks', () => {
    it('accepts the sample', () => {
      expect(() => validateWorkflow(sample(), 'test.yaml')).not.toThrow();
    });

    it('names an unknown transition target the way an author reads it', () => {
      const def: WorkflowDefinition = {
        ...sample(),
        stages: [
          { ...sample().stages[0], id: 'rectification', transitions: [{ event: 'ADVANCE', target: 'consolidaton' }] },
          { id: 'consolidation', title: text('巩固', 'Consolidation'), final: true },
        ],
        initial: 'rectification',
      };
      expect(problemsOf(() => validateWorkflow(def, 'workflows/three-searches.yaml'))).toEqual([
        'workflows/three-searches.yaml: stages[0].transitions[0].target: unknown stage "consolidaton" (did you mean "consolidation"?)',
      ]);
    });

    it('refuses an initial stage that does not exist or is final', () => {
      expect(invalid({ ...sample(), initial: 'drafing' })).toEqual([
        'test.yaml: initial: unknown stage "drafing" (did you mean "drafting"?)',
      ]);
      expect(invalid({ ...sample(), initial: 'done' })[0]).toBe(
        'test.yaml: initial: "done" is a final stage; a campaign cannot start there',
      );
    });

    it('refuses two stages with one id', () => {
      const def = sample();
      def.stages.push({ ...def.stages[1] });
      expect(invalid(def)).toEqual(['test.yaml: stages[2].id: duplicate stage id "done" (first at stages[1])']);
    });

    it('refuses two deliverables with one id in a stage', () => {
      const def = sample();
      def.stages[0].deliverables.push({ id: 'plan', title: text('又一个', 'Another'), review: false });
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].deliverables[1].id: duplicate deliverable id "plan" (first at deliverables[0])',
      ]);
    });

    it('refuses a guard on a deliverable of another stage', () => {
      const def = sample();
      def.stages[0].transitions[0].guards = [{ allUnitsSubmitted: { deliverable: 'summary' } }];
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].transitions[0].guards[0].allUnitsSubmitted.deliverable: unknown deliverable "summary" in stage "drafting" (known: plan)',
      ]);
    });

    it('refuses allUnitsApproved on a deliverable the bureau does not review', () => {
      const def = sample();
      def.stages[0].deliverables[0].review = false;
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].transitions[0].guards[1].allUnitsApproved.deliverable: deliverable "plan" is not reviewed (review: false), so it can never be approved; set review: true or use allUnitsSubmitted',
      ]);
    });

    it('refuses transitions, deliverables, deadlines and reminders on a final stage', () => {
      const def = sample();
      Object.assign(def.stages[1], {
        deadline: 'P1D',
        deliverables: [{ id: 'x', title: text('x', 'x'), review: false }],
        transitions: [{ event: 'REOPEN', target: 'drafting' }],
      });
      expect(invalid(def)).toEqual([
        'test.yaml: stages[1].transitions: a final stage has no transitions: reaching it completes the campaign',
        'test.yaml: stages[1].deliverables: a final stage has no deliverables: reaching it completes the campaign',
        'test.yaml: stages[1].deadline: a final stage has no deadline: reaching it completes the campaign',
      ]);
    });

    it('refuses a workflow without a final stage', () => {
      const def = sample();
      def.stages[1] = { id: 'done', title: text('结束', 'Done'), transitions: [{ event: 'BACK', target: 'drafting' }] };
      expect(invalid(def)).toEqual([
        'test.yaml: stages: no stage is final: mark the stage that completes the campaign with final: true',
      ]);
    });

    it('refuses a non-final stage without transitions', () => {
      const def = sample();
      def.stages.splice(1, 0, { id: 'limbo', title: text('悬置', 'Limbo') });
      def.stages[0].transitions.push({ event: 'PARK', target: 'limbo' });
      expect(invalid(def)).toEqual([
        'test.yaml: stages[1]: stage "limbo" is not final and has no transitions: a campaign would stay there for ever',
      ]);
    });

    it('refuses a workflow whose final stage cannot be reached from the initial stage', () => {
      const def = sample();
      def.stages[0].transitions[0].target = 'review';
      def.stages.splice(1, 0, { id: 'review', title: text('复核', 'Review'), transitions: [{ event: 'BACK', target: 'drafting' }] });
      expect(invalid(def)).toEqual([
        'test.yaml: initial: no final stage (done) can be reached from "drafting"',
      ]);
    });

    it('refuses a stage that cannot be reached from the initial stage', () => {
      const def = sample();
      def.stages.push({ id: 'orphan', title: text('孤立', 'Orphan'), transitions: [{ event: 'ADVANCE', target: 'done' }] });
      expect(invalid(def)).toEqual(['test.yaml: stages[2].id: stage "orphan" cannot be reached from the initial stage "drafting"']);
    });

    it('refuses a loop that never reaches a final stage', () => {
      const def = sample();
      def.stages.splice(
        1,
        0,
        { id: 'ping', title: text('甲', 'Ping'), transitions: [{ event: 'NEXT', target: 'pong' }] },
        { id: 'pong', title: text('乙', 'Pong'), transitions: [{ event: 'NEXT', target: 'ping' }] },
      );
      def.stages[0].transitions.push({ event: 'DETOUR', target: 'ping' });
      expect(invalid(def)).toEqual([
        'test.yaml: stages[1].transitions: no final stage can be reached from stage "ping": a campaign there could never finish',
        'test.yaml: stages[2].transitions: no final stage can be reached from stage "pong": a campaign there could never finish',
      ]);
    });

    it('refuses a transition back into its own stage', () => {
      const def = sample();
      def.stages[0].transitions.push({ event: 'RESTART', target: 'drafting' });
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].transitions[1].target: a transition cannot lead back to its own stage "drafting"',
      ]);
    });

    it('allows one event twice in a stage: the first transition whose guards hold wins', () => {
      const def = sample();
      def.stages.splice(1, 0, { id: 'extra', title: text('补充', 'Extra'), transitions: [{ event: 'ADVANCE', target: 'done' }] });
      def.stages[0].transitions.push({ event: 'ADVANCE', target: 'extra', guards: [{ after: { deadline: true } }] });
      expect(() => validateWorkflow(def, 'test.yaml')).not.toThrow();
    });

    it('refuses a zero deadline and a zero reminder interval', () => {
      const def = sample();
      def.stages[0].deadline = 'P0D';
      def.stages[0].reminders.every = 'PT0S';
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].deadline: "P0D" is zero; it must be longer',
        'test.yaml: stages[0].reminders.every: "PT0S" is zero; it must be longer',
      ]);
    });

    it('refuses a duration longer than 100 years, or shorter than a millisecond where it must move time', () => {
      const def = sample();
      def.stages[0].deadline = 'P300000Y'; // past the last date a clock can show: every reminder scan would fail on it
      def.stages[0].reminders.every = 'PT0.0001S';
      def.stages[0].reminders.escalateAfter = 'P100Y1D';
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].deadline: "P300000Y" is longer than 100 years',
        'test.yaml: stages[0].reminders.every: "PT0.0001S" is shorter than a millisecond; it must be longer',
        'test.yaml: stages[0].reminders.escalateAfter: "P100Y1D" is longer than 100 years',
      ]);
      def.stages[0].deadline = 'P100Y';
      def.stages[0].reminders.every = 'PT0.001S';
      def.stages[0].reminders.escalateAfter = 'P7D';
      expect(() => validateWorkflow(def, 'test.yaml')).not.toThrow();
    });

    it('refuses a date that is not on the calendar', () => {
      const def = sample();
      def.stages[0].transitions[0].guards = [{ after: { date: '2014-02-30T00:00:00+08:00' } }];
      expect(invalid(def)).toEqual([
        'test.yaml: stages[0].transitions[0].guards[0].after.date: "2014-02-30T00:00:00+08:00" is not a real date and time',
      ]);
    });

    it('refuses reminders in a stage where nothing is owed', () => {
      const def = sample();
      def.stages.splice(1, 0, {
        id: 'waiting',
        title: text('等待', 'Waiting'),
        reminders: { at: true },
        transitions: [{ event: 'ADVANCE', target: 'done', guards: [{ after: { duration: 'P7D' } }] }],
      });
      def.stages[0].transitions[0].target = 'waiting';
      expect(invalid(def)).toEqual([
        'test.yaml: stages[1].reminders: reminders need deliverables: units are reminded of what they have not submitted',
      ]);
    });
  });
});

describe('evaluations in a workflow', () => {
  /** The sample with a leaders evaluation in its first stage, gating ADVANCE. */
  function withEvaluation(): any {
    const def = sample();
    def.stages[0].evaluations = [
      {
        id: 'leaders',
        title: text('领导班子民主测评', 'Leadership evaluation'),
        subjects: 'leaders',
        groups: [
          { id: 'teachers', title: text('教师', 'Teachers'), weight: 0.6, ballots: 120 },
          { id: 'parents', title: text('家长', 'Parents'), weight: 0.4 },
        ],
      },
    ];
    def.stages[0].transitions[0].guards.push({ evaluationClosed: { evaluation: 'leaders' } }, { minTurnout: { evaluation: 'leaders', turnout: 0.8, group: 'teachers' } });
    return def;
  }

  it('accepts an evaluation with groups, default scale, and guards on it', () => {
    expect(validateWorkflow(withEvaluation(), 'test.yaml').stages[0].evaluations![0].id).toBe('leaders');
  });

  it('accepts its own scale, best grade first', () => {
    const def = withEvaluation();
    def.stages[0].evaluations[0].scale = [
      { id: 'satisfied', title: text('满意', 'Satisfied'), score: 100 },
      { id: 'fair', title: text('基本满意', 'Fair'), score: 70 },
      { id: 'unsatisfied', title: text('不满意', 'Unsatisfied'), score: 0 },
    ];
    expect(validateWorkflow(def, 'test.yaml').stages[0].evaluations![0].scale).toHaveLength(3);
  });

  it('refuses guards naming an evaluation the stage does not run, or a group it does not have', () => {
    const def = withEvaluation();
    def.stages[0].transitions[0].guards.push({ evaluationClosed: { evaluation: 'leader' } }, { minTurnout: { evaluation: 'leaders', turnout: 0.5, group: 'pupils' } });
    expect(invalid(def)).toEqual([
      'test.yaml: stages[0].transitions[0].guards[4].evaluationClosed.evaluation: unknown evaluation "leader" in stage "drafting" (did you mean "leaders"?)',
      'test.yaml: stages[0].transitions[0].guards[5].minTurnout.group: evaluation "leaders" has no voter group "pupils" (known: teachers, parents)',
    ]);
  });

  it('refuses an evaluation guard in a stage without evaluations', () => {
    const def = sample();
    def.stages[0].transitions[0].guards = [{ evaluationClosed: { evaluation: 'leaders' } }];
    expect(invalid(def)).toEqual([
      'test.yaml: stages[0].transitions[0].guards[0].evaluationClosed.evaluation: unknown evaluation "leaders" in stage "drafting"; the stage runs no evaluations (add them under evaluations:)',
    ]);
  });

  it('wants a turnout share above 0 and at most 1, subjects leaders or units, and weights above 0', () => {
    const def = withEvaluation();
    def.stages[0].transitions[0].guards[3].minTurnout.turnout = 80;
    def.stages[0].evaluations[0].subjects = 'teachers';
    def.stages[0].evaluations[0].groups[1].weight = 0;
    expect(invalid(def)).toEqual([
      'test.yaml: stages[0].transitions[0].guards[3].minTurnout.turnout: must be a number above 0 and at most 1 (a share of the issued ballots, e.g. 0.8)',
      'test.yaml: stages[0].evaluations[0].subjects: must be leaders or units',
      'test.yaml: stages[0].evaluations[0].groups[1].weight: must be a number above 0 (and at most 1000)',
    ]);
  });

  it('refuses evaluation ids used twice in a workflow, groups and grades twice in an evaluation, and a scale not best first', () => {
    const def = withEvaluation();
    def.stages[0].evaluations[0].groups[1].id = 'teachers';
    def.stages[0].evaluations.push({
      id: 'leaders',
      title: text('再测', 'Again'),
      subjects: 'units',
      scale: [
        { id: 'good', title: text('好', 'Good'), score: 50 },
        { id: 'good', title: text('好', 'Good'), score: 60 },
      ],
    });
    expect(invalid(def)).toEqual([
      'test.yaml: stages[0].evaluations[0].groups[1].id: duplicate voter group "teachers" (first at groups[0])',
      'test.yaml: stages[0].evaluations[1].id: duplicate evaluation id "leaders" (first at stages[0].evaluations[0]); evaluation ids are unique in the workflow',
      'test.yaml: stages[0].evaluations[1].scale[1].id: duplicate grade "good" (first at scale[0])',
      'test.yaml: stages[0].evaluations[1].scale[1].score: grades are listed best first: 60 must be below 50 (the score of "good")',
    ]);
  });

  it('refuses evaluations in a final stage', () => {
    const def = sample();
    def.stages[1].evaluations = [{ id: 'late', title: text('迟', 'Late'), subjects: 'units' }];
    expect(invalid(def)).toEqual(['test.yaml: stages[1].evaluations: a final stage has no evaluations: reaching it completes the campaign']);
  });

  it('ships democratic evaluations in advanced-nature and strive-for-excellence, gating their stages', () => {
    const byId = new Map(loadWorkflowsDir().map((d) => [d.id, d]));
    const supervision = byId.get('advanced-nature')!.stages.find((s) => s.id === 'supervision-and-evaluation')!;
    expect(supervision.evaluations!.map((e) => [e.id, e.subjects, e.groups!.map((g) => g.id)])).toEqual([
      ['democratic-appraisal', 'leaders', ['teachers', 'parents', 'students', 'staff-congress-delegates']],
    ]);
    expect(supervision.transitions![0].guards).toContainEqual({ minTurnout: { evaluation: 'democratic-appraisal', turnout: 0.8 } });
    const advancement = byId.get('strive-for-excellence')!.stages.find((s) => s.id === 'comprehensive-advancement')!;
    expect(advancement.evaluations!.map((e) => [e.id, e.subjects])).toEqual([['public-appraisal', 'units']]);
    expect(advancement.transitions![0].guards).toContainEqual({ evaluationClosed: { evaluation: 'public-appraisal' } });
  });
});
