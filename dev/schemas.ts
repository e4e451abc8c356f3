/**
 * JSON Schemas and reference docs generated from the zod schemas, so the descriptions written there
 * reach editors and readers unchanged:
 *
 *   schemas/playbook.schema.json, docs/playbook-reference.md  from core/playbook/schema.ts
 *   schemas/policy.schema.json,   docs/policy-reference.md    from core/policy/schema.ts
 *   deploy/helm/rotor/values.schema.json                      the chart's values, with the policy's schema
 *   deploy/helm/rotor/crds/, the identity admission policy    rotor's CRDs and their admission (dev/crds.ts)
 *
 * `npm run schemas` (tsx dev/schemas.ts) writes them; `--check` writes nothing and exits 1 naming
 * each file that is stale. The JSON Schemas (draft 2020-12) describe what a person writes: the
 * input side of the zod schemas, durations as text. They never refuse what rotor accepts, and
 * leave out what JSON Schema cannot say (rules between fields, other refinements).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { duration, formatDuration, maxTimerMs } from '../core/playbook/duration';
import { playbookSchema } from '../core/playbook/schema';
import { policySchema } from '../core/policy/schema';
import { slug } from './markdown-slug';
import { chartValuesSchema } from './chart-values-schema';
import { manifestOutputs } from './crds';
import { rotationApprovalSpecSchema, rotationIncidentSpecSchema, rotationRequestSpecSchema } from '../core/resources';

export const root = resolve(import.meta.dirname, '..');

/** The part of JSON Schema the generator writes and reads. */
interface JsonSchema {
  $ref?: string;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  /** One per `enum` value: the descriptions editors show (VS Code, yaml-language-server). */
  enumDescriptions?: string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  $defs?: Record<string, JsonSchema>;
  [keyword: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Durations. zod sees `duration` as a number or any string that a transform then parses; the
// JSON Schema says which strings parse, and what each field allows, found by asking the field's
// own zod schema about 0 and about one millisecond more than a Temporal timer holds.

const durationUnit = '(\\d+(ms|s|m|h|d))+';
const writtenAs = 'written `30s`, `10m`, `2h`, `90d` or `1h30m` (units ms, s, m, h, d), or in milliseconds';
const timerLimit = 'at most 2^31-1 ms (about 24.8 days, so write at most 24d: a longer Temporal timer fires at once)';

interface DurationKind {
  name: string;
  zero: boolean;
  long: boolean;
  description: string;
}

const durationKinds: DurationKind[] = [
  { name: 'duration', zero: true, long: true, description: `A duration, ${writtenAs}.` },
  { name: 'positiveDuration', zero: false, long: true, description: `A duration longer than 0, ${writtenAs}.` },
  { name: 'timer', zero: false, long: false, description: `A duration longer than 0 and ${timerLimit}, ${writtenAs}.` },
  {
    name: 'timerOrZero',
    zero: true,
    long: false,
    description: `A duration ${timerLimit}, ${writtenAs}; 0 means none.`,
  },
];

function durationDef(kind: DurationKind): JsonSchema {
  // A non-zero digit somewhere makes the sum non-zero.
  const nonZero = kind.zero ? '' : '(?=[^1-9]*[1-9])';
  return {
    description: kind.description,
    anyOf: [
      { type: 'string', pattern: `^\\s*${nonZero}${durationUnit}\\s*$` },
      {
        type: 'integer',
        ...(kind.zero ? { minimum: 0 } : { exclusiveMinimum: 0 }),
        maximum: kind.long ? Number.MAX_SAFE_INTEGER : maxTimerMs,
      },
    ],
  };
}

const durationInput = duration._zod.def.in;

/** The kind of a duration field's zod schema (`duration`, `timerDuration()`, refined), else undefined. */
function durationKindOf(schema: z.core.$ZodType): DurationKind | undefined {
  const def = schema._zod.def;
  if (def.type !== 'pipe' || (def as z.core.$ZodPipeDef).in !== durationInput) return undefined;
  const accepts = (ms: number) => z.safeParse(schema, ms).success;
  const zero = accepts(0);
  const long = accepts(maxTimerMs + 1);
  const kind = durationKinds.find((k) => k.zero === zero && k.long === long);
  if (!kind) throw new Error(`no duration kind with zero=${zero} long=${long}`);
  return kind;
}

// ---------------------------------------------------------------------------------------------
// JSON Schema

/**
 * Formats zod emits that are left out: `uri` (RFC 3986) refuses URLs z.url() accepts (it takes
 * what the WHATWG URL parser does, e.g. a space in the path), and `includes` is no JSON Schema
 * format (the pattern beside it says the same).
 */
const droppedFormats = new Set(['uri', 'includes']);

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

interface Generated {
  schema: JsonSchema;
  /** What the JSON Schema could not say, as zod reported it: `<path>: <message>`. */
  unrepresentable: string[];
}

/** The input-side JSON Schema of `zodSchema`, with durations as `$defs` and defaults as written. */
function jsonSchema(zodSchema: z.ZodType, meta: { $id: string; title: string }): Generated {
  const unrepresentable: string[] = [];
  const used = new Set<DurationKind>();
  const generated = z.toJSONSchema(zodSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: ({ path, message }) => {
      unrepresentable.push(`${path.join('.')}: ${message}`);
      return 'any';
    },
    override: ({ zodSchema: s, jsonSchema: json }) => {
      const def = s._zod.def;
      const kind = durationKindOf(s);
      if (kind) {
        used.add(kind);
        delete json.anyOf;
        json.$ref = `#/$defs/${kind.name}`;
      }
      // zod leaves out the default of anything with a transform inside (a duration, or a list of
      // objects holding one): it is an output value. Written as input it is the same default.
      if (def.type === 'default' && !('default' in json)) {
        const inner = durationKindOf(def.innerType);
        const value: unknown = def.defaultValue;
        json.default = inner && typeof value === 'number' ? formatDuration(value) : structuredClone(value);
      }
      if (typeof json.format === 'string' && droppedFormats.has(json.format)) delete json.format;
      // A tuple of one item type is a list of that type and length. Said so, it means the same in
      // every draft; editors that read draft-07 take `items: false` beside `prefixItems` as "empty".
      const [first, ...others] = json.prefixItems ?? [];
      if (def.type === 'tuple' && json.items === false && first && others.every((o) => same(o, first))) {
        delete json.prefixItems;
        json.items = first;
      }
    },
  }) as JsonSchema;
  const { $schema, ...body } = generated;
  const $defs = Object.fromEntries(
    durationKinds.filter((k) => used.has(k)).map((k): [string, JsonSchema] => [k.name, durationDef(k)]),
  );
  return {
    schema: { $schema, $id: meta.$id, title: meta.title, ...body, ...(used.size > 0 ? { $defs } : {}) },
    unrepresentable,
  };
}

// ---------------------------------------------------------------------------------------------
// Reference docs: a table per object, a section per variant of a discriminated union.

interface Row {
  path: string;
  type: string;
  required: boolean;
  default: unknown;
  description: string;
}

interface Section {
  level: number;
  title: string;
  text: string[];
  rows: Row[];
}

const code = (text: string) => (text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``);
/** A `const` or `enum` value as written in YAML. */
const literal = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
const child = (path: string, key: string) => (path ? `${path}.${key}` : key);
const objectTitle = (path: string) => (path ? code(path) : 'Top level');
const variantTitle = (path: string, tag: string, value: unknown) =>
  `${code(path)} with ${code(`${tag}: ${literal(value)}`)}`;
const link = (text: string, title: string) => `[${text}](#${slug(title)})`;

/** The property every branch of a `oneOf` fixes with a `const`: the union's discriminator. */
function discriminator(node: JsonSchema): string | undefined {
  const branches = node.oneOf;
  const first = branches?.[0]?.properties;
  if (!branches || !first) return undefined;
  return Object.keys(first).find((key) => branches.every((b) => b.properties?.[key]?.const !== undefined));
}

const isObject = (node: JsonSchema) => node.type === 'object' && node.properties !== undefined;
const isRecord = (node: JsonSchema) =>
  node.type === 'object' && node.properties === undefined && typeof node.additionalProperties === 'object';

function stringType(node: JsonSchema): string {
  const { minLength: min, maxLength: max } = node;
  const length =
    min !== undefined && max !== undefined
      ? `of ${min}–${max} characters`
      : max !== undefined
        ? `of at most ${max} characters`
        : min !== undefined && min > 1
          ? `of at least ${min} characters`
          : '';
  const base = min === 1 && max === undefined ? 'non-empty string' : 'string';
  return [base, length, node.pattern !== undefined ? `matching ${code(node.pattern)}` : ''].filter(Boolean).join(' ');
}

function numberType(node: JsonSchema): string {
  const { minimum: min, maximum: max } = node;
  const bounded = max !== undefined && max < Number.MAX_SAFE_INTEGER;
  const range =
    min !== undefined && bounded ? `${min}–${max}` : bounded ? `at most ${max}` : min !== undefined ? `≥ ${min}` : '';
  return [node.type ?? 'number', range].filter(Boolean).join(' ');
}

function listLength({ minItems: min, maxItems: max }: JsonSchema): string {
  if (min !== undefined && min === max) return ` (exactly ${min})`;
  if (min && max !== undefined) return ` (${min}–${max})`;
  if (max !== undefined) return ` (at most ${max})`;
  return min ? ` (at least ${min})` : '';
}

/** The type column: what to write, with links to the sections of nested objects. */
function typeOf(node: JsonSchema, path: string): string {
  if (node.$ref?.startsWith('#/$defs/')) return link(node.$ref.slice('#/$defs/'.length), 'Durations');
  const tag = discriminator(node);
  if (tag) return link(`one of, by \`${tag}\``, objectTitle(path));
  if (node.const !== undefined) return code(literal(node.const));
  if (node.enum) return `one of ${node.enum.map((v) => code(literal(v))).join(', ')}`;
  if (node.anyOf) return node.anyOf.map((n) => typeOf(n, path)).join(' or ');
  if (isObject(node)) return link('object', objectTitle(path));
  if (isRecord(node)) {
    const keys = node.propertyNames ? stringType(node.propertyNames) : 'string';
    return `map of ${keys} to ${typeOf(node.additionalProperties as JsonSchema, `${path}.<name>`)}`;
  }
  if (node.type === 'array' && node.prefixItems) return `[${node.prefixItems.map((n) => typeOf(n, path)).join(', ')}]`;
  if (node.type === 'array' && node.items) {
    return `list${listLength(node)} of ${typeOf(node.items, `${path}[]`)}`;
  }
  if (node.type === 'string') return stringType(node);
  if (node.type === 'integer' || node.type === 'number') return numberType(node);
  return node.type ?? 'any';
}

function rowsOf(node: JsonSchema, path: string): Row[] {
  return Object.entries(node.properties ?? {}).map(([key, prop]) => ({
    path: child(path, key),
    type: typeOf(prop, child(path, key)),
    required: node.required?.includes(key) ?? false,
    default: prop.default,
    description: prop.description ?? '',
  }));
}

/** Sections for `node` at `path` and everything below it, depth first. */
function sectionsOf(node: JsonSchema, path: string, level: number): Section[] {
  const tag = discriminator(node);
  if (tag && node.oneOf) {
    const variants = node.oneOf.map((branch) => ({ branch, value: branch.properties?.[tag]?.const }));
    const union: Section = {
      level,
      title: objectTitle(path),
      text: [
        node.description ?? '',
        `One of, by \`${tag}\`:`,
        variants
          .map(
            ({ branch, value }) =>
              `- ${link(code(literal(value)), variantTitle(path, tag, value))}: ${branch.description ?? ''}`,
          )
          .join('\n'),
      ],
      rows: [],
    };
    return [
      union,
      ...variants.flatMap(({ branch, value }) => [
        {
          level: level + 1,
          title: variantTitle(path, tag, value),
          text: [branch.description ?? ''],
          rows: rowsOf(branch, path),
        },
        ...below(branch, path, level + 1),
      ]),
    ];
  }
  if (isObject(node)) {
    return [
      { level, title: objectTitle(path), text: [node.description ?? ''], rows: rowsOf(node, path) },
      ...below(node, path, level),
    ];
  }
  if (node.type === 'array' && node.items) return sectionsOf(node.items, `${path}[]`, level);
  if (isRecord(node)) return sectionsOf(node.additionalProperties as JsonSchema, `${path}.<name>`, level);
  if (node.enum && node.enumDescriptions) {
    const values = node.enum.map((value, i) => ({
      level: level + 1,
      title: `${code(path)}: ${code(literal(value))}`,
      text: [node.enumDescriptions?.[i] ?? ''],
      rows: [],
    }));
    return [{ level, title: code(path), text: [node.description ?? ''], rows: [] }, ...values];
  }
  return [];
}

function below(node: JsonSchema, path: string, level: number): Section[] {
  return Object.entries(node.properties ?? {}).flatMap(([key, prop]) =>
    // An object below is a section of its own; an enum's values are subsections of this one.
    sectionsOf(prop, child(path, key), level + (prop.enumDescriptions ? 1 : 0)),
  );
}

const cell = (text: string) => text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
const defaultCell = (value: unknown) => (value === undefined ? '' : code(literal(value)));

function renderSection(s: Section): string {
  const parts = [`${'#'.repeat(s.level)} ${s.title}`, ...s.text.filter(Boolean)];
  if (s.rows.length > 0) {
    const table = [
      '| field | type | required | default | description |',
      '| --- | --- | --- | --- | --- |',
      ...s.rows.map(
        (r) =>
          `| ${cell(code(r.path))} | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(defaultCell(r.default))} | ${cell(r.description)} |`,
      ),
    ];
    parts.push(table.join('\n'));
  }
  return parts.join('\n\n');
}

interface DocSpec {
  title: string;
  source: string;
  intro: string[];
}

/** The reference markdown for `schema`, before formatting. */
function referenceDoc(generated: Generated, spec: DocSpec): string {
  const { schema } = generated;
  const sections = sectionsOf(schema, '', 2);
  const titles = new Set<string>();
  for (const s of sections) {
    if (titles.has(slug(s.title))) throw new Error(`two sections would have the anchor #${slug(s.title)}`);
    titles.add(slug(s.title));
  }
  const defs = Object.entries(schema.$defs ?? {});
  const durations: Section[] =
    defs.length === 0
      ? []
      : [
          {
            level: 2,
            title: 'Durations',
            text: [
              'Durations are written as text and become milliseconds when rotor parses the file; a number is taken as milliseconds already. Fields say which of these they take:',
              defs.map(([name, def]) => `- **${name}**: ${def.description ?? ''}`).join('\n'),
            ],
            rows: [],
          },
        ];
  const notes =
    generated.unrepresentable.length === 0
      ? []
      : [
          'Not in the JSON Schema (zod could not express it; any value passes there):',
          generated.unrepresentable.map((u) => `- ${code(u)}`).join('\n'),
        ];
  return [
    `<!-- Generated by dev/schemas.ts from ${spec.source}: edit the descriptions there, then run \`npm run schemas\`. -->`,
    `# ${spec.title}`,
    ...spec.intro,
    ...notes,
    ...[...sections, ...durations].map(renderSection),
  ].join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Files

const schemaBase = 'https://rotor.dev/schemas/';

function playbookJsonSchema(): Generated {
  return jsonSchema(playbookSchema, { $id: `${schemaBase}playbook.schema.json`, title: 'rotor RotationPlaybook' });
}

function policyJsonSchema(): Generated {
  return jsonSchema(policySchema, { $id: `${schemaBase}policy.schema.json`, title: 'rotor RotorPolicy' });
}

const modeline = (path: string) => ['```yaml', `# yaml-language-server: $schema=${path}`, '```'].join('\n');

/** How editors find the schema; `validate` is the command that checks everything. */
function editorNote(
  what: string,
  schemaFile: string,
  fromExamples: string,
  examples: string,
  validate: string,
): string[] {
  return [
    `The same schema as JSON Schema (draft 2020-12): [\`${schemaFile}\`](../${schemaFile}). Editors with the YAML language server (VS Code's YAML extension, and others) complete, describe and check ${what} whose first line points at it, with a path relative to the file; ${examples} start with`,
    modeline(fromExamples),
    `The JSON Schema takes what you write and never refuses what rotor accepts, but it cannot say everything: rules between fields and a few within one are checked only by rotor. \`${validate}\` checks them all.`,
  ];
}

/** Every generated file with its formatted text, paths relative to the repository root. */
export async function outputs(): Promise<{ file: string; text: string }[]> {
  const playbook = playbookJsonSchema();
  const policy = policyJsonSchema();
  const files = [
    { file: 'schemas/playbook.schema.json', text: JSON.stringify(playbook.schema, null, 2) },
    { file: 'schemas/policy.schema.json', text: JSON.stringify(policy.schema, null, 2) },
    {
      file: 'deploy/helm/rotor/values.schema.json',
      text: JSON.stringify(chartValuesSchema(policy.schema), null, 2),
    },
    ...manifestOutputs({
      playbook: playbook.schema,
      request: jsonSchema(rotationRequestSpecSchema, { $id: 'crd', title: 'RotationRequest spec' }).schema,
      approval: jsonSchema(rotationApprovalSpecSchema, { $id: 'crd', title: 'RotationApproval spec' }).schema,
      incident: jsonSchema(rotationIncidentSpecSchema, { $id: 'crd', title: 'RotationIncident spec' }).schema,
    }),
    {
      file: 'docs/playbook-reference.md',
      text: referenceDoc(playbook, {
        title: 'Playbook reference',
        source: 'core/playbook/schema.ts',
        intro: [
          'Every field of a rotation playbook (`kind: RotationPlaybook`), from the zod schema `rotor validate` and the worker check playbooks with (`core/playbook/schema.ts`). What the fields do together: [Playbooks](playbooks.md); the rules between fields: [Validation](playbooks.md#validation).',
          ...editorNote(
            'a playbook',
            'schemas/playbook.schema.json',
            '../schemas/playbook.schema.json',
            'the examples in `playbooks/`',
            'rotor validate',
          ),
        ],
      }),
    },
    {
      file: 'docs/policy-reference.md',
      text: referenceDoc(policy, {
        title: 'Policy reference',
        source: 'core/policy/schema.ts',
        intro: [
          'Every field of the admin policy (`kind: RotorPolicy`, loaded from `ROTOR_POLICY_FILE`), from the zod schema the worker and `rotor validate --policy` check it with (`core/policy/schema.ts`). How a playbook is checked against it: [Policy](policy.md).',
          ...editorNote(
            'a policy file',
            'schemas/policy.schema.json',
            '../../schemas/policy.schema.json',
            'the examples in `dev/policy/`',
            'rotor validate --policy',
          ),
        ],
      }),
    },
  ];
  return Promise.all(
    files.map(async ({ file, text }) => {
      const path = join(root, file);
      const options = (await resolveConfig(path)) ?? {};
      return { file, text: await format(text, { ...options, filepath: path }) };
    }),
  );
}

export function onDisk(file: string): string | undefined {
  try {
    return readFileSync(join(root, file), 'utf8');
  } catch {
    return undefined;
  }
}

async function main(check: boolean): Promise<number> {
  const files = await outputs();
  const stale = files.filter(({ file, text }) => onDisk(file) !== text);
  if (check) {
    for (const { file } of stale) process.stderr.write(`stale: ${file}\n`);
    if (stale.length > 0) process.stderr.write('run `npm run schemas` and commit the result\n');
    return stale.length > 0 ? 1 : 0;
  }
  for (const { file, text } of stale) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
    process.stdout.write(`wrote ${file}\n`);
  }
  if (stale.length === 0) process.stdout.write('schemas and reference docs are current\n');
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exit(await main(process.argv.includes('--check')));
}
