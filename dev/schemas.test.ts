/**
 * The JSON Schemas and reference docs (dev/schemas.ts) are current, and the JSON Schemas agree with
 * rotor: a real JSON Schema validator (Ajv, draft 2020-12) accepts every shipped playbook and
 * policy, refuses broken ones at the path rotor names too, and never refuses what rotor accepts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject } from 'ajv/dist/2020';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validatePlaybook } from '../core/playbook/validate';
import { policySchema } from '../core/policy/schema';
import { onDisk, outputs, root } from './schemas';

const ajv = new Ajv2020({ allErrors: true, strict: true });
// An annotation editors show (VS Code, yaml-language-server); nothing to validate.
ajv.addKeyword('enumDescriptions');

const schemaOf = (file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as object;
const checkPlaybook = ajv.compile(schemaOf('schemas/playbook.schema.json'));
const checkPolicy = ajv.compile(schemaOf('schemas/policy.schema.json'));

/** Ajv's verdict as `<path>: <message>` lines (empty when valid). */
function problems(check: typeof checkPlaybook, doc: unknown): string[] {
  if (check(doc)) return [];
  // Ajv's message for an additional property does not name it.
  const text = (e: ErrorObject) =>
    `${e.instancePath || '/'}: ${e.message ?? ''}` +
    (e.keyword === 'additionalProperties' ? ` '${String(e.params.additionalProperty)}'` : '');
  return (check.errors ?? []).map(text);
}

const yamlFiles = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(root, dir, f), 'utf8') }));
const playbooks = yamlFiles('playbooks');
const policies = yamlFiles('dev/policy');

type Doc = Record<string, unknown>;
const spec = (doc: Doc) => doc.spec as Doc;
const firstTenant = (doc: Doc) => (doc.tenants as Doc[])[0] as Doc;

describe('generated schemas and reference docs (dev/schemas.ts)', () => {
  let generating: ReturnType<typeof outputs> | undefined;
  it.each([
    'schemas/playbook.schema.json',
    'schemas/policy.schema.json',
    'docs/playbook-reference.md',
    'docs/policy-reference.md',
  ])('%s is current', async (file) => {
    const generated = (await (generating ??= outputs())).find((o) => o.file === file);
    expect(generated, `dev/schemas.ts no longer writes ${file}`).toBeDefined();
    expect(onDisk(file), `${file} is stale: run \`npm run schemas\` and commit the result`).toBe(generated?.text);
  });
});

interface Refusal {
  name: string;
  edit: (doc: Doc) => void;
  /** Where Ajv says it is wrong (a line of `problems`). */
  at: RegExp;
}

interface Checked {
  schemaFile: string;
  check: typeof checkPlaybook;
  examples: { file: string; text: string }[];
  modeline: string;
  rotorAccepts: (doc: unknown) => boolean;
  base: () => Doc;
  wrong: Refusal[];
}

/** The shipped examples pass, broken ones fail where rotor fails too, and whatever rotor accepts passes. */
function checks(c: Checked): void {
  describe(c.schemaFile, () => {
    it.each(c.examples)('$file names it on its first line and is valid', ({ file, text }) => {
      expect(text.split('\n')[0], file).toBe(c.modeline);
      expect(problems(c.check, parse(text))).toEqual([]);
    });

    it.each(c.wrong)('refuses $name, naming the path (and so does rotor)', ({ edit, at }) => {
      const doc = c.base();
      edit(doc);
      expect(problems(c.check, doc).join('\n')).toMatch(at);
      expect(c.rotorAccepts(doc)).toBe(false);
    });

    it('never refuses what rotor accepts (mutations of the shipped examples)', () => {
      fc.assert(
        fc.property(mutated(c.examples.map((e) => parse(e.text) as unknown)), (doc) => {
          if (c.rotorAccepts(doc)) expect(problems(c.check, doc)).toEqual([]);
        }),
        { numRuns: 2000 },
      );
    });
  });
}

checks({
  schemaFile: 'schemas/playbook.schema.json',
  check: checkPlaybook,
  examples: playbooks,
  modeline: '# yaml-language-server: $schema=../schemas/playbook.schema.json',
  rotorAccepts: (doc) => !('problems' in validatePlaybook(doc, 'mutated.yaml')),
  base: () => parse(playbooks.find((p) => p.file.endsWith('/vault-api-key.yaml'))?.text ?? '') as Doc,
  wrong: [
    {
      name: 'an unknown credential kind',
      edit: (doc) => (spec(doc).credential = { kind: 'password', length: 40 }),
      at: /^\/spec\/credential\/kind: must be equal to constant$/m,
    },
    {
      name: 'no spec.secret',
      edit: (doc) => delete spec(doc).secret,
      at: /^\/spec: must have required property 'secret'$/m,
    },
    {
      name: 'an unknown store type',
      edit: (doc) => ((spec(doc).secret as Doc).store = { type: 'gcp', path: 'x' }),
      at: /^\/spec\/secret\/store\/type: must be equal to constant$/m,
    },
    {
      name: 'a misspelt field',
      edit: (doc) => (spec(doc).clusterz = []),
      at: /^\/spec: must NOT have additional properties 'clusterz'$/m,
    },
    {
      name: 'a duration rotor cannot read',
      edit: (doc) => (spec(doc).soak = '10 minutes'),
      at: /^\/spec\/soak: must match pattern/m,
    },
    {
      name: 'a timeout of 0',
      edit: (doc) => (spec(doc).timeouts = { create: '0s' }),
      at: /^\/spec\/timeouts\/create: must match pattern/m,
    },
    {
      name: 'an unknown delivery mode',
      edit: (doc) => (spec(doc).clusters = [{ name: 'a', delivery: 'ftp', namespace: 'n', secretName: 's' }]),
      at: /^\/spec\/clusters\/0\/delivery: must be equal to one of the allowed values$/m,
    },
  ],
});

checks({
  schemaFile: 'schemas/policy.schema.json',
  check: checkPolicy,
  examples: policies,
  modeline: '# yaml-language-server: $schema=../../schemas/policy.schema.json',
  rotorAccepts: (doc) => policySchema.safeParse(doc).success,
  base: () => parse(policies.find((p) => p.file.endsWith('/two-teams.yaml'))?.text ?? '') as Doc,
  wrong: [
    {
      name: 'a tenant name that is no DNS label',
      edit: (doc) => (firstTenant(doc).name = 'Payments Team'),
      at: /^\/tenants\/0\/name: must match pattern/m,
    },
    {
      name: 'a Vault grant without pathPrefix',
      edit: (doc) => ((firstTenant(doc).allow as Doc).vault = [{ mount: 'secret' }]),
      at: /^\/tenants\/0\/allow\/vault\/0: must have required property 'pathPrefix'$/m,
    },
    {
      name: 'a misspelt field',
      edit: (doc) => (doc.tenant = []),
      at: /^\/: must NOT have additional properties 'tenant'$/m,
    },
    { name: 'a string for a boolean', edit: (doc) => (doc.allowAll = 'yes'), at: /^\/allowAll: must be boolean$/m },
  ],
});

type Path = (string | number)[];

/** Every path below the root of `doc`. */
function pathsOf(doc: unknown, at: Path = []): Path[] {
  if (doc === null || typeof doc !== 'object') return [];
  const entries = Array.isArray(doc) ? doc.map((v, i) => [i, v] as const) : Object.entries(doc);
  return entries.flatMap(([k, v]) => [[...at, k], ...pathsOf(v, [...at, k])]);
}

/** Values near the edges of what the schemas allow, mixed with arbitrary JSON. */
const edgy = fc.oneof(
  fc.constantFrom(0, 1, -1, 16, 2 ** 31 - 1, 2 ** 31, '0s', ' 5m ', '1h30m', '24d', '25d', '90d', '10ms', ''),
  fc.constantFrom('x', 'a/b', 'value', 'https://a.example/x y', 'rotor.dev/v1', 'vault', 'eso', true, null, [], {}),
  fc.jsonValue(),
);

/** A shipped document with one to three values replaced or removed. */
function mutated(docs: unknown[]): fc.Arbitrary<unknown> {
  return fc
    .tuple(fc.constantFrom(...docs), fc.array(fc.tuple(fc.nat(), fc.boolean(), edgy), { minLength: 1, maxLength: 3 }))
    .map(([original, edits]) => {
      const doc = structuredClone(original);
      for (const [n, remove, value] of edits) {
        const paths = pathsOf(doc);
        const path = paths[n % paths.length];
        if (!path) break;
        let parent: unknown = doc;
        for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[k];
        const key = path[path.length - 1] as string | number;
        if (remove) delete (parent as Record<string | number, unknown>)[key];
        else (parent as Record<string | number, unknown>)[key] = value;
      }
      return doc;
    });
}
