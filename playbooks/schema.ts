import { z } from 'zod';
import { duration } from './duration';

const name = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, -), at most 63 characters');

const vaultStore = z.strictObject({
  type: z.literal('vault'),
  /** KV v2 mount, e.g. `secret`. */
  mount: z.string().min(1).default('secret'),
  /** Path below the mount, e.g. `apps/payments/api-key`. */
  path: z.string().min(1).regex(/^[^/].*[^/]$|^[^/]$/, 'must not start or end with /'),
  /** Field of the KV entry holding the credential. */
  key: z.string().min(1).default('value'),
});

const awsStore = z.strictObject({
  type: z.literal('aws'),
  /** Secrets Manager secret name or ARN. */
  secretId: z.string().min(1),
  /** When set, the secret string is a JSON object and the credential is this field; else the whole string. */
  key: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
});

export const storeSchema = z.discriminatedUnion('type', [vaultStore, awsStore]);

export const randomCredential = z.strictObject({
  kind: z.literal('random'),
  length: z.number().int().min(16).max(4096).default(40),
  charset: z.enum(['alphanumeric', 'hex', 'base64url', 'ascii-printable']).default('alphanumeric'),
});

export const credentialSchema = z.discriminatedUnion('kind', [randomCredential]);

const delivery = z.enum(['eso', 'push', 'observe']);

const clusterSchema = z.strictObject({
  /** Cluster name as used in waves and reports. */
  name,
  /** kubeconfig context; defaults to the name. */
  context: z.string().min(1).optional(),
  delivery,
  namespace: name,
  /** Kubernetes Secret that consumers read. */
  secretName: name,
  /** ExternalSecrets to refresh (eso delivery); discovered by remote ref when omitted. */
  externalSecrets: z.array(name).optional(),
  /** Workloads that consume the Secret and must roll out once per rotation. */
  workloads: z
    .array(z.strictObject({ kind: z.enum(['Deployment', 'StatefulSet']), name }))
    .default([]),
  timeout: duration.optional(),
});

export const canarySchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('command'),
    name,
    /** argv of a hook that receives the credential on stdin and must exit 0. Never in argv or env. */
    command: z.array(z.string().min(1)).min(1),
    timeout: duration.default(30_000),
  }),
  z.strictObject({
    type: z.literal('http'),
    name,
    url: z.url(),
    method: z.enum(['GET', 'POST', 'HEAD']).default('GET'),
    /** Header carrying the credential; `{credential}` in the value is replaced by it. */
    header: z.string().min(1).default('Authorization'),
    valueTemplate: z.string().includes('{credential}').default('Bearer {credential}'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    timeout: duration.default(10_000),
  }),
]);

const stageTimeouts = z
  .strictObject({
    plan: duration.default(60_000),
    create: duration.default(120_000),
    distribute: duration.default(300_000),
    verify: duration.default(600_000),
    canary: duration.default(300_000),
    promote: duration.default(300_000),
    revoke: duration.default(300_000),
  })
  .prefault({});

/**
 * A rotation playbook as written in YAML. Parsing turns durations into milliseconds; the parsed
 * value is what workflows receive. It never holds secret values, only where they live.
 */
export const playbookSchema = z
  .strictObject({
    apiVersion: z.literal('rotor.dev/v1'),
    kind: z.literal('RotationPlaybook'),
    metadata: z.strictObject({ name, description: z.string().optional() }),
    spec: z.strictObject({
      secret: z.strictObject({ name, store: storeSchema }),
      credential: credentialSchema,
      clusters: z.array(clusterSchema).default([]),
      /** Cluster names per wave; by default one wave with every cluster. */
      waves: z.array(z.array(name).min(1)).optional(),
      dualRead: z
        .strictObject({ currentKey: z.string().min(1).default('value'), otherKey: z.string().min(1).default('value-other') })
        .prefault({}),
      canaries: z.array(canarySchema).default([]),
      /** Clusters synced at once within a wave; bounds load on the apiservers and on Temporal. */
      maxParallelClusters: z.number().int().min(1).max(500).default(10),
      timeouts: stageTimeouts,
      soak: duration.default(0),
      approval: z.strictObject({ beforeRevoke: z.boolean().default(false) }).prefault({}),
      schedule: z
        .strictObject({
          every: duration.default(90 * 86_400_000),
          jitter: duration.default(0),
          /** Scheduled runs wait until this daily UTC window opens (e.g. 02:00–05:00); manual and emergency runs do not. */
          window: z
            .strictObject({ start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC)'), end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC)') })
            .optional(),
        })
        .optional(),
    }),
  })
  .superRefine((p, ctx) => {
    const clusters = p.spec.clusters.map((c) => c.name);
    p.spec.clusters.forEach((c, i) => {
      if (clusters.indexOf(c.name) !== i) {
        ctx.addIssue({ code: 'custom', path: ['spec', 'clusters', i, 'name'], message: `cluster '${c.name}' is listed twice` });
      }
    });
    const waved = new Set<string>();
    p.spec.waves?.forEach((wave, w) =>
      wave.forEach((c, i) => {
        if (!clusters.includes(c)) {
          ctx.addIssue({ code: 'custom', path: ['spec', 'waves', w, i], message: `'${c}' is not a cluster of spec.clusters` });
        }
        if (waved.has(c)) ctx.addIssue({ code: 'custom', path: ['spec', 'waves', w, i], message: `'${c}' is in more than one wave` });
        waved.add(c);
      }),
    );
    if (p.spec.waves) {
      clusters
        .filter((c) => !waved.has(c))
        .forEach((c) => ctx.addIssue({ code: 'custom', path: ['spec', 'waves'], message: `cluster '${c}' is in no wave` }));
    }
    if (p.spec.dualRead.currentKey === p.spec.dualRead.otherKey) {
      ctx.addIssue({ code: 'custom', path: ['spec', 'dualRead', 'otherKey'], message: 'must differ from currentKey' });
    }
  });

export type PlaybookInput = z.input<typeof playbookSchema>;
/** A validated playbook: durations in milliseconds, defaults filled in. */
export type Playbook = z.output<typeof playbookSchema>;
export type Store = z.output<typeof storeSchema>;
export type Credential = z.output<typeof credentialSchema>;
export type Canary = z.output<typeof canarySchema>;
export type ClusterTarget = Playbook['spec']['clusters'][number];
