import { z } from 'zod';
import { duration, timerDuration } from './duration';
import { crossCheck } from './cross-checks';
import { awsSecretId, secretKey, storePath } from './fields';

const name = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, -), at most 63 characters');

const vaultStore = z.strictObject({
  type: z.literal('vault'),
  /** KV v2 mount, e.g. `secret`. */
  mount: storePath.default('secret'),
  /** Path below the mount, e.g. `apps/payments/api-key`. */
  path: storePath,
  /** Field of the KV entry holding the credential. */
  key: z.string().min(1).default('value'),
});

const awsStore = z.strictObject({
  type: z.literal('aws'),
  /** Secrets Manager secret name or ARN. */
  secretId: awsSecretId,
  /** When set, the secret string is a JSON object and the credential is this field; else the whole string. */
  key: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  /**
   * IAM role the worker assumes (STS AssumeRole, session `rotor-<secretId>`) for this store's calls,
   * instead of using its own identity; the admin policy must list it for the tenant.
   */
  roleArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
      'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
    )
    .optional(),
});

export const storeSchema = z.discriminatedUnion('type', [vaultStore, awsStore]);

export const randomCredential = z.strictObject({
  kind: z.literal('random'),
  length: z.number().int().min(16).max(4096).default(40),
  charset: z.enum(['alphanumeric', 'hex', 'base64url', 'ascii-printable']).default('alphanumeric'),
});

/** A PostgreSQL role name (at most 63 bytes; quoted as an identifier wherever rotor uses it). */
const pgRole = z.string().min(1).max(63);
const port = z.number().int().min(1).max(65535);

/**
 * Two roles with the same grants take turns: each rotation gives the role not in use a new
 * password and LOGIN, and revoke locks the other one. The stored value is JSON `{"username","password"}`.
 */
export const postgresAlternatingUsersCredential = z.strictObject({
  kind: z.literal('postgres-alternating-users'),
  /** The two roles; both must exist. Which one is current follows from the stored value. */
  roles: z.tuple([pgRole, pgRole]).refine(([a, b]) => a !== b, 'the two roles must differ'),
  /** Server and database the roles log in to; PGHOST/PGPORT/PGDATABASE by default. */
  host: z.string().min(1).optional(),
  port: port.optional(),
  database: z.string().min(1).optional(),
  length: z.number().int().min(16).max(256).default(32),
});

/**
 * An IAM user's access key. IAM allows two keys per user, so the new key overlaps the old one until
 * revoke. The stored value is JSON `{"accessKeyId","secretAccessKey"}`.
 */
export const awsIamAccessKeyCredential = z.strictObject({
  kind: z.literal('aws-iam-access-key'),
  userName: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'must be an IAM user name'),
  /**
   * What revoke does to the old key: `deactivate` (it is deleted by the next rotation's create, which
   * needs the slot) or `delete` at once (no way back).
   */
  revoke: z.enum(['deactivate', 'delete']).default('deactivate'),
  /** How long revoke keeps asking STS until the old key is refused; IAM changes are eventually consistent. */
  proofTimeout: timerDuration().default(60_000),
});

/**
 * A static role of Vault's database secrets engine: Vault owns the password and rotates it. There
 * is no overlap: the old password stops working when create rotates it. The stored value is JSON
 * `{"username","password"}` as read from `<mount>/static-creds/<role>`.
 */
export const vaultDatabaseStaticRoleCredential = z.strictObject({
  kind: z.literal('vault-database-static-role'),
  mount: z.string().min(1).default('database'),
  role: z.string().min(1),
  /** The engine's connection (`<mount>/config/<connection>`) the role must belong to; revoke proves against it. */
  connection: z.string().min(1),
});

/**
 * A dynamic role of Vault's database secrets engine (PostgreSQL connections): each rotation reads
 * `<mount>/creds/<role>`, which makes a new database user under a new lease. The stored value is
 * `{"username","password","leaseId"}`; revoke revokes the old lease (Vault drops that user).
 */
export const vaultDatabaseDynamicRoleCredential = z.strictObject({
  kind: z.literal('vault-database-dynamic-role'),
  mount: z.string().min(1).default('database'),
  role: z.string().min(1),
  /** The engine's connection (`<mount>/config/<connection>`) the role must belong to; revoke proves against it. */
  connection: z.string().min(1),
});

export const credentialSchema = z.discriminatedUnion('kind', [
  randomCredential,
  postgresAlternatingUsersCredential,
  awsIamAccessKeyCredential,
  vaultDatabaseStaticRoleCredential,
  vaultDatabaseDynamicRoleCredential,
]);

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
  workloads: z.array(z.strictObject({ kind: z.enum(['Deployment', 'StatefulSet']), name })).default([]),
  timeout: timerDuration().optional(),
});

export const canarySchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('command'),
    name,
    /** argv of a hook that receives the credential on stdin and must exit 0. Never in argv or env. */
    command: z.array(z.string().min(1)).min(1),
    timeout: timerDuration().default(30_000),
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
    timeout: timerDuration().default(10_000),
  }),
  z.strictObject({
    type: z.literal('postgres-login'),
    name,
    /** Logs in with the credential JSON `{"username","password"}`; PGHOST/PGPORT/PGDATABASE by default. */
    host: z.string().min(1).optional(),
    port: port.optional(),
    database: z.string().min(1).optional(),
    /** Must succeed as the new role, e.g. a query on a table the application needs. */
    query: z.string().min(1).default('select 1'),
    timeout: timerDuration().default(10_000),
  }),
  z.strictObject({
    type: z.literal('aws-sts'),
    name,
    /** STS GetCallerIdentity with the credential JSON `{"accessKeyId","secretAccessKey"}`. */
    region: z.string().min(1).optional(),
    /** STS endpoint; AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL or the SDK's default when omitted. */
    endpoint: z.url().optional(),
    /** When set, the caller must be exactly this ARN. */
    expectedArn: z.string().min(1).optional(),
    timeout: timerDuration().default(10_000),
  }),
  z.strictObject({
    type: z.literal('kubernetes-job'),
    name,
    /** kubeconfig context of the cluster that runs the Job. */
    cluster: z.string().min(1),
    namespace: name,
    image: z.string().min(1),
    /** argv of the Job's container; the credential is the file `<mountPath>/credential` (path also in ROTOR_CREDENTIAL_FILE). */
    command: z.array(z.string().min(1)).min(1),
    mountPath: z
      .string()
      .regex(/^\/[^:]*$/, 'must be an absolute path')
      .default('/var/run/rotor'),
    serviceAccountName: name.optional(),
    timeout: timerDuration().default(300_000),
  }),
]);

const stageTimeouts = z
  .strictObject({
    plan: timerDuration().default(60_000),
    create: timerDuration().default(120_000),
    distribute: timerDuration().default(300_000),
    verify: timerDuration().default(600_000),
    canary: timerDuration().default(300_000),
    promote: timerDuration().default(300_000),
    revoke: timerDuration().default(300_000),
    /** Each consumer gate (before promote, before revoke): how long every cluster's consumers may take. */
    gate: timerDuration().default(300_000),
  })
  .prefault({});

/** The consumer gate before promote and before revoke (README: "The consumer gate"). */
const consumerGate = z
  .strictObject({
    /** Off only to measure what the gate prevents (bench:zero-downtime): revoke may then cut off consumers. */
    enabled: z.boolean().default(true),
    /** After a pod is touched, how long a consumer that does not report what it read is given to resync. */
    settle: timerDuration().default(10_000),
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
    metadata: z.strictObject({
      name,
      description: z.string().optional(),
      /** Free-form labels; an admin policy may select tenants by them. */
      labels: z.record(z.string().min(1), z.string()).optional(),
    }),
    spec: z.strictObject({
      secret: z.strictObject({ name, store: storeSchema }),
      credential: credentialSchema,
      clusters: z.array(clusterSchema).default([]),
      /** Cluster names per wave; by default one wave with every cluster. */
      waves: z.array(z.array(name).min(1)).optional(),
      dualRead: z
        .strictObject({
          currentKey: secretKey.default('value'),
          otherKey: secretKey.default('value-other'),
        })
        .prefault({}),
      canaries: z.array(canarySchema).default([]),
      /** Clusters synced at once within a wave; bounds load on the apiservers and on Temporal. */
      maxParallelClusters: z.number().int().min(1).max(500).default(10),
      timeouts: stageTimeouts,
      consumerGate,
      soak: timerDuration({ zeroMeansNone: true }).default(0),
      approval: z
        .strictObject({
          beforeRevoke: z.boolean().default(false),
          /** How long the gate waits; then the run alerts and rolls back (nothing was revoked yet). */
          timeout: timerDuration().default(7 * 86_400_000),
        })
        .prefault({}),
      /** Past the point of no return a failing step retries and alerts instead of rolling back. */
      needsAttention: z
        .strictObject({
          /** Automatic retry interval while a step keeps failing (`rotor retry` retries at once). */
          retryEvery: timerDuration().default(15 * 60_000),
          /** Unresolved this long: the run escalates (audit event `needs-attention-escalated`, status). */
          escalateAfter: timerDuration().default(86_400_000),
          /** The waiting run continues as new (carrying its state) past this many history events. */
          maxHistoryEvents: z.number().int().min(100).max(40_000).default(5_000),
        })
        .prefault({}),
      schedule: z
        .strictObject({
          /** A schedule interval, not a timer: may be longer than 24.8 days. */
          every: duration.refine((ms) => ms > 0, 'must be longer than 0; write e.g. 90d').default(90 * 86_400_000),
          jitter: duration.default(0),
          /** Scheduled runs wait until this daily UTC window opens (e.g. 02:00–05:00); manual and emergency runs do not. */
          window: z
            .strictObject({
              start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC)'),
              end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC)'),
            })
            .optional(),
        })
        .optional(),
    }),
  })
  .superRefine(crossCheck);

export type PlaybookInput = z.input<typeof playbookSchema>;
/** A validated playbook: durations in milliseconds, defaults filled in. */
export type Playbook = z.output<typeof playbookSchema>;
export type Store = z.output<typeof storeSchema>;
export type Credential = z.output<typeof credentialSchema>;
export type Canary = z.output<typeof canarySchema>;
export type ClusterTarget = Playbook['spec']['clusters'][number];
