/**
 * Property tests (fast-check): thousands of random mutations of the shipped playbooks. Validation
 * never throws, every problem names a non-empty path and a message, and a playbook that validates
 * validates again unchanged (the worker re-validates what the CLI parsed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validatePlaybook } from '../core/playbook/validate';

const shipped = readdirSync('playbooks')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => parse(readFileSync(join('playbooks', f), 'utf8')) as unknown);

type Path = (string | number)[];

/** Every path below the root of `doc` (objects and arrays included). */
function pathsOf(doc: unknown, at: Path = []): Path[] {
  if (doc === null || typeof doc !== 'object') return [];
  const entries = Array.isArray(doc) ? doc.map((v, i) => [i, v] as const) : Object.entries(doc);
  return entries.flatMap(([k, v]) => [[...at, k], ...pathsOf(v, [...at, k])]);
}

function parentOf(doc: unknown, path: Path): Record<string | number, unknown> | undefined {
  let v: unknown = doc;
  for (const k of path.slice(0, -1)) v = (v as Record<string | number, unknown>)[k];
  return v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>) : undefined;
}

// Values that probe the rules, mixed with arbitrary JSON.
const tricky = fc.constantFrom(
  '0s',
  '0',
  0,
  -1,
  '25d',
  '24d',
  2 ** 31,
  'NaN',
  '',
  ' ',
  '..',
  '.',
  'a/../b',
  'a#b',
  'a//b',
  '/a',
  'a/',
  'has space',
  'ü',
  'x'.repeat(300),
  '1h30m',
  '90d',
  null,
  [],
  {},
  true,
);
const value = fc.oneof(tricky, fc.jsonValue(), fc.string(), fc.integer());

interface Mutation {
  at: number;
  op: 'set' | 'delete' | 'duplicate' | 'add-key';
  key: string;
  value: unknown;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('set' as const, 'delete' as const, 'duplicate' as const, 'add-key' as const),
  key: fc.string({ minLength: 1, maxLength: 12 }),
  value,
});

/** Applies one mutation to a copy-in-progress `doc` at its `at`-th path. */
function mutate(doc: unknown, m: Mutation): void {
  const paths = pathsOf(doc);
  const path = paths[m.at % paths.length];
  if (!path) return;
  const parent = parentOf(doc, path);
  const key = path[path.length - 1];
  if (!parent || key === undefined) return;
  if (m.op === 'set') parent[key] = m.value;
  else if (m.op === 'delete') {
    if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
    else delete parent[key];
  } else if (m.op === 'duplicate' && Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
  else if (m.op === 'add-key' && !Array.isArray(parent)) parent[m.key] = m.value; // the root too
}

describe('playbook validation under random mutation', () => {
  it('never throws; every problem has a path and a message; a valid result validates again unchanged', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, mutations) => {
        const doc = structuredClone(shipped[which % shipped.length]);
        for (const m of mutations) mutate(doc, m);
        const r = validatePlaybook(doc, 'p.yaml');
        if ('problems' in r) {
          expect(r.problems.length).toBeGreaterThan(0);
          for (const p of r.problems) {
            expect(p.path, p.message).not.toBe('');
            expect(p.message.trim()).not.toBe('');
          }
        } else {
          expect(validatePlaybook(structuredClone(r.playbook), 'p.yaml')).toEqual({ playbook: r.playbook });
        }
      }),
      { numRuns: 5000 },
    );
  });
});
