import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { manifestFiles, structural } from './crds';
import { root } from './schemas';

type Node = Record<string, unknown>;

/** Every place a structural schema breaks the apiserver's rules, as `<path>: <problem>`. */
function nonStructural(node: Node, path: string): string[] {
  const own = [
    ...['$ref', 'anyOf', 'oneOf', 'allOf', 'const', 'prefixItems', '$defs']
      .filter((k) => k in node)
      .map((k) => `${path}: ${k}`),
    ...(!node['type'] && !node['x-kubernetes-int-or-string'] && !node['x-kubernetes-preserve-unknown-fields']
      ? [`${path}: no type`]
      : []),
    ...(node['properties'] && node['additionalProperties'] ? [`${path}: properties beside additionalProperties`] : []),
  ];
  const children = [
    ...Object.entries((node['properties'] as Record<string, Node> | undefined) ?? {}).map(([k, v]): [string, Node] => [
      `${path}.${k}`,
      v,
    ]),
    ...(typeof node['items'] === 'object' ? [[`${path}[]`, node['items'] as Node] as [string, Node]] : []),
    ...(typeof node['additionalProperties'] === 'object'
      ? [[`${path}{}`, node['additionalProperties'] as Node] as [string, Node]]
      : []),
  ];
  return [...own, ...children.flatMap(([p, n]) => nonStructural(n, p))];
}

describe('structural', () => {
  it('turns unions into what takes every branch, and durations into int-or-string', () => {
    const defs = {
      d: {
        anyOf: [
          { type: 'string', pattern: 'x' },
          { type: 'integer', minimum: 0 },
        ],
      },
    };
    expect(
      structural(
        {
          type: 'object',
          additionalProperties: false,
          required: ['u'],
          properties: {
            u: {
              oneOf: [
                {
                  type: 'object',
                  required: ['kind', 'a'],
                  properties: { kind: { const: 'a' }, a: { type: 'string' } },
                },
                { type: 'object', required: ['kind'], properties: { kind: { const: 'b' }, b: { $ref: '#/$defs/d' } } },
              ],
            },
            n: { anyOf: [{ type: 'string' }, { type: 'null' }] },
            m: { anyOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string' } }] },
            pos: { type: 'integer', exclusiveMinimum: 0 },
          },
        },
        defs,
      ),
    ).toEqual({
      type: 'object',
      required: ['u'],
      properties: {
        u: {
          type: 'object',
          required: ['kind'],
          properties: {
            kind: { type: 'string', enum: ['a', 'b'] },
            a: { type: 'string' },
            b: { 'x-kubernetes-int-or-string': true },
          },
        },
        n: { type: 'string', nullable: true },
        m: { 'x-kubernetes-preserve-unknown-fields': true },
        pos: { type: 'integer', minimum: 0, exclusiveMinimum: true },
      },
    });
  });

  it('the committed CRDs are structural throughout', () => {
    const crds = parseAllDocuments(readFileSync(join(root, manifestFiles.crds), 'utf8')).map(
      (d) => d.toJS() as { metadata: { name: string }; spec: { versions: { schema: { openAPIV3Schema: Node } }[] } },
    );
    expect(crds.map((c) => c.metadata.name)).toEqual([
      'rotationplaybooks.rotor.dev',
      'rotationrequests.rotor.dev',
      'rotationapprovals.rotor.dev',
      'rotationincidents.rotor.dev',
    ]);
    for (const crd of crds)
      expect(nonStructural(crd.spec.versions[0]?.schema.openAPIV3Schema ?? {}, crd.metadata.name)).toEqual([]);
    // The check can fail: a $ref left in, a node without a type.
    expect(nonStructural({ type: 'object', properties: { a: { $ref: '#/x' } } }, 'x')).toEqual([
      'x.a: $ref',
      'x.a: no type',
    ]);
  });
});
