import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';
import { REPO_ROOT } from '../support/docket-harness';

/**
 * The domain (every src/**\/domain folder: decide, evolve, guards, the machine factory)
 * is pure: it imports no framework, database or client package, only other domain
 * code, xstate and node's crypto; and it never reads the wall clock.
 */
const SRC = join(REPO_ROOT, 'src');
const ALLOWED_PACKAGES = ['xstate', 'node:crypto'];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const domainFiles = walk(SRC).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && f.split(sep).includes('domain'));

function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((i) => i.fileName);
}

describe('the domain stays pure', () => {
  it('has domain code to check', () => {
    expect(domainFiles.map((f) => relative(SRC, f))).toEqual(
      expect.arrayContaining(['campaigns/domain/decide.ts', 'campaigns/domain/campaign-state.ts', 'workflows/domain/machine.ts', 'workflows/domain/guards.ts']),
    );
  });

  it.each(domainFiles.map((f) => [relative(SRC, f), f]))('%s imports only domain code, xstate and node:crypto', (_name, file) => {
    const offending = importsOf(file).filter((spec) => {
      if (spec.startsWith('.')) return !resolve(dirname(file), spec).split(sep).includes('domain');
      return !ALLOWED_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`));
    });
    expect(offending).toEqual([]);
  });

  it.each(domainFiles.map((f) => [relative(SRC, f), f]))('%s never reads the wall clock', (_name, file) => {
    const source = readFileSync(file, 'utf8');
    expect(source.match(/Date\.now\(\)|new Date\(\s*\)|performance\.now\(\)/g) ?? []).toEqual([]);
  });

  it('catches a forbidden import (the rule itself works)', () => {
    const fake = ts.preProcessFile("import { Injectable } from '@nestjs/common';\nimport Database from 'better-sqlite3';", true, true);
    const bad = fake.importedFiles.map((i) => i.fileName).filter((s) => !ALLOWED_PACKAGES.includes(s));
    expect(bad).toEqual(['@nestjs/common', 'better-sqlite3']);
  });
});
