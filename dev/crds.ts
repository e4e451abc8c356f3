/**
 * rotor's CustomResourceDefinitions and the ValidatingAdmissionPolicy that makes requesters and
 * approvers the apiserver's authenticated user (issue 24), generated from the zod schemas:
 *
 *   deploy/helm/rotor/crds/rotor.dev.yaml                               the three CRDs
 *   deploy/helm/rotor/files/requester-identity-admission-policy.yaml   the policy and its binding
 *     (rendered by the chart's template of the same name unless requesterIdentityPolicy.enabled is false)
 *
 * dev/schemas.ts writes them from its JSON Schemas (`npm run schemas`, checked by its test); the
 * stack applies both to cluster-a (dev/local-stack/kube/rotor-resources.ts).
 *
 * A CRD needs a structural OpenAPI v3 schema: a type on every node, no `$ref`, `anyOf`/`oneOf`
 * only without types, `additionalProperties` not beside `properties`. {@link structural} turns the
 * draft 2020-12 JSON Schema into one that never refuses what zod accepts: a union of objects
 * becomes one object with every branch's fields (required: those all branches require), a union of
 * text and number an int-or-string, any other union a node the apiserver keeps as written. What it
 * cannot say (patterns, rules between fields) rotor's controller checks with zod.
 */
import { stringify } from 'yaml';
import { resourceGroup, resourceVersion } from '../core/resources';

/** The part of a draft 2020-12 JSON Schema (as dev/schemas.ts writes them) read here. */
export interface JsonSchema {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string;
  const?: unknown;
  enum?: unknown[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  exclusiveMinimum?: number;
  [keyword: string]: unknown;
}

/** An OpenAPI v3 node of a structural schema, as the apiserver takes them. */
type Node = Record<string, unknown>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const keep: Node = { 'x-kubernetes-preserve-unknown-fields': true };

/** One node of `schema` resolved against `defs` and made structural. */
export function structural(schema: JsonSchema, defs: Record<string, JsonSchema>): Node {
  if (schema.$ref) {
    const def = defs[schema.$ref.replace('#/$defs/', '')];
    if (!def) throw new Error(`unresolved $ref ${schema.$ref}`);
    const { $ref: _, ...rest } = schema;
    return structural({ ...def, ...rest, description: schema.description ?? def.description }, defs);
  }
  const description = schema.description ? { description: schema.description } : {};
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const nonNull = branches.filter((b) => b.type !== 'null');
    const merged = nonNull.map((b) => structural(b, defs)).reduce(merge);
    return { ...merged, ...description, ...(nonNull.length < branches.length ? { nullable: true } : {}) };
  }
  const node: Node = { ...description };
  if (schema.const !== undefined) node['enum'] = [schema.const];
  if (schema.enum) node['enum'] = schema.enum;
  const type = schema.type ?? (schema.const !== undefined ? typeof schema.const : undefined);
  if (!type) return { ...keep, ...description };
  node['type'] = type;
  for (const k of ['minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems'] as const)
    if (typeof schema[k] === 'number') node[k] = schema[k];
  // OpenAPI v3.0 (what CRDs take) says exclusiveness with a boolean beside `minimum`.
  if (typeof schema.exclusiveMinimum === 'number')
    Object.assign(node, { minimum: schema.exclusiveMinimum, exclusiveMinimum: true });
  if (type === 'object') {
    if (schema.properties) {
      node['properties'] = Object.fromEntries(
        Object.entries(schema.properties).map(([k, v]) => [k, structural(v, defs)]),
      );
      if (schema.required?.length) node['required'] = schema.required;
    } else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      node['additionalProperties'] = structural(schema.additionalProperties, defs);
    } else Object.assign(node, keep);
  }
  if (type === 'array') {
    const first = schema.prefixItems?.[0];
    const items = schema.items && typeof schema.items === 'object' ? schema.items : first;
    node['items'] = items ? structural(items, defs) : keep;
  }
  return node;
}

/** One node taking what either takes (see the file's comment). */
function merge(a: Node, b: Node): Node {
  if (same(a, b)) return a;
  const types = new Set([a['type'], b['type']]);
  if (types.size === 1 && a['type'] === 'object' && a['properties'] && b['properties']) {
    const pa = a['properties'] as Record<string, Node>;
    const pb = b['properties'] as Record<string, Node>;
    const keys = [...new Set([...Object.keys(pa), ...Object.keys(pb)])];
    const properties = Object.fromEntries(
      keys.map((k) => [k, pa[k] && pb[k] ? merge(pa[k], pb[k]) : (pa[k] ?? pb[k])]),
    );
    const required = ((a['required'] as string[] | undefined) ?? []).filter((k) =>
      ((b['required'] as string[] | undefined) ?? []).includes(k),
    );
    return { type: 'object', properties, ...(required.length ? { required } : {}) };
  }
  if (types.size === 1 && a['type'] !== 'object' && a['type'] !== 'array' && a['type'] !== undefined) {
    const enums = a['enum'] && b['enum'] ? { enum: [...(a['enum'] as unknown[]), ...(b['enum'] as unknown[])] } : {};
    return { type: a['type'], ...enums };
  }
  if (types.has('string') && (types.has('integer') || types.has('number')) && types.size === 2)
    return { 'x-kubernetes-int-or-string': true };
  return keep;
}

/** Status every resource carries: conditions as Kubernetes writes them, and what rotor ran. */
const statusSchema: Node = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer' },
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: {
        type: 'object',
        required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
        properties: {
          type: { type: 'string' },
          status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
          reason: { type: 'string' },
          message: { type: 'string' },
          lastTransitionTime: { type: 'string', format: 'date-time' },
          observedGeneration: { type: 'integer' },
        },
      },
    },
    workflowId: { type: 'string', description: 'The Temporal workflow id of the rotation.' },
    runId: { type: 'string', description: 'The Temporal run id of the rotation.' },
    uiLink: { type: 'string', description: "The rotation's page in the Temporal UI." },
    phase: { type: 'string', description: "The rotation's last phase rotor saw." },
    answer: { type: 'string', description: "The workflow's answer to an approval." },
  },
};

/** What a RotationPlaybook's status says beyond the common fields (issue 24: like certificates). */
const playbookStatus: Record<string, Node> = {
  scheduleId: { type: 'string', description: 'The Temporal Schedule rotor keeps for this playbook.' },
  nextDue: { type: 'string', format: 'date-time', description: "The schedule's next run." },
  lastRotation: {
    type: 'object',
    description: 'The last rotation rotor knows of: scheduled, or requested by a RotationRequest.',
    required: ['time', 'outcome', 'trigger', 'workflowId', 'uiLink'],
    properties: {
      time: { type: 'string', format: 'date-time', description: 'When it started.' },
      outcome: {
        type: 'string',
        enum: ['Running', 'NeedsAttention', 'Rotated', 'Skipped', 'RolledBack', 'Failed'],
      },
      trigger: { type: 'string', enum: ['schedule', 'manual', 'emergency'] },
      workflowId: { type: 'string', description: 'The Temporal workflow id of the rotation.' },
      runId: { type: 'string' },
      uiLink: { type: 'string', description: "The rotation's page in the Temporal UI." },
      request: { type: 'string', description: 'The RotationRequest that asked for it; none for a scheduled run.' },
    },
  },
};

/** What a RotationRequest's status says beyond the common fields: the run its emergency superseded. */
const requestStatus: Record<string, Node> = {
  superseded: {
    type: 'object',
    description:
      'The running rotation of the same playbook this emergency request superseded: aborted (it rolls back first), or waited for past its point of no return.',
    required: ['workflowId', 'runId', 'how', 'outcome'],
    properties: {
      workflowId: { type: 'string' },
      runId: { type: 'string' },
      how: { type: 'string', enum: ['Aborted', 'WaitedPastPointOfNoReturn'] },
      outcome: {
        type: 'string',
        description: 'Running while rotor waits for it; then how it ended (RolledBack, Rotated, ...).',
      },
    },
  },
};

interface Kind {
  kind: string;
  plural: string;
  short: string;
  description: string;
  spec: Node;
  columns: { name: string; jsonPath: string; type?: string; priority?: number }[];
  /** Status fields of this kind only. */
  status?: Record<string, Node>;
}

function crd(k: Kind): Node {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${resourceGroup}` },
    spec: {
      group: resourceGroup,
      scope: 'Namespaced',
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.kind.toLowerCase(),
        shortNames: [k.short],
        categories: ['rotor'],
      },
      versions: [
        {
          name: resourceVersion,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...k.columns.map((c) => ({ type: 'string', ...c })),
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: k.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: k.spec,
                status: k.status
                  ? {
                      ...statusSchema,
                      properties: { ...(statusSchema['properties'] as Record<string, Node>), ...k.status },
                    }
                  : statusSchema,
              },
            },
          },
        },
      ],
    },
  };
}

/** The structural schema of a generated JSON Schema, with its own `$defs`. */
const specOf = (json: JsonSchema): Node => structural(json, json.$defs ?? {});

const reasonColumn = { name: 'Reason', jsonPath: '.status.conditions[-1:].reason' };

/** The JSON Schemas (input side) of the playbook and of the two specs, from dev/schemas.ts. */
export interface ResourceSchemas {
  playbook: JsonSchema;
  request: JsonSchema;
  approval: JsonSchema;
  incident: JsonSchema;
}

/** The four CRDs, as one multi-document YAML text. */
export function crdsYaml({ playbook, request, approval, incident }: ResourceSchemas): string {
  const playbookSpec = playbook.properties?.['spec'];
  if (!playbookSpec) throw new Error('the playbook schema has no spec');
  const kinds: Kind[] = [
    {
      kind: 'RotationPlaybook',
      plural: 'rotationplaybooks',
      short: 'rpb',
      description:
        "A rotation playbook in its tenant's namespace: the spec is a playbook file's spec. The RBAC verbs rotate, emergency and approve on this resource say who may request and approve its rotations.",
      spec: structural(playbookSpec, playbook.$defs ?? {}),
      status: playbookStatus,
      columns: [
        { name: 'Ready', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
        { name: 'Secret', jsonPath: '.spec.secret.name' },
        { name: 'Last Rotation', type: 'date', jsonPath: '.status.lastRotation.time' },
        { name: 'Outcome', jsonPath: '.status.lastRotation.outcome' },
        { name: 'Next Due', jsonPath: '.status.nextDue' },
        { name: 'Reason', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
      ],
    },
    {
      kind: 'RotationRequest',
      plural: 'rotationrequests',
      short: 'rrq',
      description: "A request to rotate a RotationPlaybook's secret now; rotor's controller starts the rotation.",
      spec: specOf(request),
      status: requestStatus,
      columns: [
        { name: 'Playbook', jsonPath: '.spec.playbookRef' },
        { name: 'Mode', jsonPath: '.spec.mode' },
        { name: 'Requester', jsonPath: '.spec.requestedBy' },
        { name: 'Phase', jsonPath: '.status.phase' },
        reasonColumn,
      ],
    },
    {
      kind: 'RotationApproval',
      plural: 'rotationapprovals',
      short: 'rap',
      description: "An operator's decision on the rotation of a RotationRequest; rotor's controller passes it on.",
      spec: specOf(approval),
      columns: [
        { name: 'Request', jsonPath: '.spec.requestRef' },
        { name: 'Action', jsonPath: '.spec.action' },
        { name: 'Approver', jsonPath: '.spec.approvedBy' },
        reasonColumn,
      ],
    },
    {
      kind: 'RotationIncident',
      plural: 'rotationincidents',
      short: 'rin',
      description:
        "Emergency rotations of several RotationPlaybooks of one namespace as one incident; rotor's controller starts it once the requester holds the emergency verb on each.",
      spec: specOf(incident),
      columns: [
        { name: 'Compromised', jsonPath: '.spec.compromised', type: 'boolean' },
        { name: 'Requester', jsonPath: '.spec.requestedBy' },
        { name: 'Phase', jsonPath: '.status.phase' },
        reasonColumn,
      ],
    },
  ];
  return kinds.map((k) => stringify(crd(k), { lineWidth: 0 })).join('---\n');
}

export const identityPolicyName = 'rotor-requester-identity';

/**
 * The ValidatingAdmissionPolicy (and its binding) that makes `spec.requestedBy` of a
 * RotationRequest or RotationIncident and `spec.approvedBy` of a RotationApproval the authenticated user on create
 * (and `requestedGroups`/`approvedGroups`, when given, that user's groups), and the whole spec
 * immutable after. Status writes (rotor's controller) are a subresource it does
 * not match.
 */
export function identityPolicyYaml(): string {
  // A RotationApproval names its approver; a RotationRequest and a RotationIncident their requester.
  const approval = "request.resource.resource == 'rotationapprovals'";
  const field = `(${approval} ? 'approvedBy' : 'requestedBy')`;
  const groupsField = `(${approval} ? 'approvedGroups' : 'requestedGroups')`;
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: identityPolicyName },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [resourceGroup],
            apiVersions: ['*'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['rotationrequests', 'rotationapprovals', 'rotationincidents'],
          },
        ],
      },
      variables: [
        {
          name: 'claimed',
          expression: `${approval} ? (has(object.spec.approvedBy) ? object.spec.approvedBy : '') : (has(object.spec.requestedBy) ? object.spec.requestedBy : '')`,
        },
        {
          name: 'groups',
          expression: 'has(request.userInfo.groups) ? request.userInfo.groups : []',
        },
        {
          // Groups are optional (without them only grants to the user name count); given, they must be the user's.
          name: 'groupsOk',
          expression: `${approval} ? (!has(object.spec.approvedGroups) || object.spec.approvedGroups == variables.groups) : (!has(object.spec.requestedGroups) || object.spec.requestedGroups == variables.groups)`,
        },
      ],
      validations: [
        {
          expression: "request.operation != 'CREATE' || variables.claimed == request.userInfo.username",
          messageExpression: `'spec.' + ${field} + ' must be your own user name, ' + request.userInfo.username + ', not ' + variables.claimed`,
          reason: 'Forbidden',
        },
        {
          expression: "request.operation != 'CREATE' || variables.groupsOk",
          messageExpression: `'spec.' + ${groupsField} + ' must be exactly your own groups, ' + variables.groups.join(', ') + ', in that order'`,
          reason: 'Forbidden',
        },
        {
          expression: "request.operation != 'UPDATE' || object.spec == oldObject.spec",
          messageExpression: `'the spec of a ' + request.kind.kind + ' cannot change once made; make a new one'`,
          reason: 'Forbidden',
        },
      ],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: identityPolicyName },
    spec: { policyName: identityPolicyName, validationActions: ['Deny'] },
  };
  return [policy, binding].map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** The generated manifests, paths relative to the repository root. */
export const manifestFiles = {
  crds: 'deploy/helm/rotor/crds/rotor.dev.yaml',
  identityPolicy: 'deploy/helm/rotor/files/requester-identity-admission-policy.yaml',
} as const;

const header = '# Generated by dev/crds.ts from the zod schemas: run `npm run schemas` after changing them.\n';

/** Each generated manifest with its text. */
export function manifestOutputs(schemas: ResourceSchemas): { file: string; text: string }[] {
  return [
    { file: manifestFiles.crds, text: header + crdsYaml(schemas) },
    { file: manifestFiles.identityPolicy, text: header + identityPolicyYaml() },
  ];
}
