import { z } from 'zod';

/** A DNS-label style name for tenants, groups and database servers. */
const name = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, -), at most 63 characters');
const nonEmpty = z.string().min(1);
const list = z.array(nonEmpty);
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/** Which playbooks a tenant's rules apply to; every selector given must match. */
const tenantMatch = z
  .strictObject({
    /** Playbook file path prefixes (directories), relative to where rotor is run, e.g. `playbooks/payments/`. */
    directories: list.min(1).optional(),
    /** Labels the playbook's `metadata.labels` must carry (written by the playbook's author). */
    labels: z.record(nonEmpty, z.string()).optional(),
    /** The requester must be a member of one of these groups (policy `groups`). */
    requesterGroups: z.array(name).min(1).optional(),
  })
  .refine(
    (m) => m.directories ?? m.labels ?? m.requesterGroups,
    'give at least one of directories, labels, requesterGroups',
  );

const canaries = z
  .strictObject({
    /** Command hooks run on the worker (scrubbed environment); off unless allowed. */
    command: z.boolean().default(false),
    /** `http` canaries: allowed hosts (exact, or `*.example.com`), and whether plain http:// is allowed. */
    http: z.strictObject({ hosts: list.min(1), allowPlainHttp: z.boolean().default(false) }).optional(),
    /** `postgres-login` canaries: servers (policy `databaseServers`) they may log in to. */
    postgresLogin: z.strictObject({ servers: z.array(name).min(1) }).optional(),
    /** `aws-sts` canaries; a playbook `endpoint` must be one of `endpoints`. */
    awsSts: z.strictObject({ endpoints: list.default([]) }).optional(),
    /** `kubernetes-job` canaries: where and as what they may run (images exact, or a prefix ending in `*`). */
    kubernetesJob: z
      .strictObject({
        contexts: list.min(1),
        namespaces: list.min(1),
        images: list.min(1),
        serviceAccounts: list.default([]),
      })
      .optional(),
  })
  .prefault({});

/**
 * Vault database engine roles per mount, listed exactly; `connections`, when given, are the engine
 * connections (`<mount>/config/<connection>`) the playbook may name for them.
 */
const vaultDatabaseRoles = z
  .array(z.strictObject({ mount: nonEmpty.default('database'), roles: list.min(1), connections: list.optional() }))
  .default([]);

/** What a tenant's playbooks may touch. Anything not listed is refused. */
const tenantAllow = z.strictObject({
  /** Vault KV locations: `pathPrefix` matches whole path segments (`apps/payments` allows `apps/payments/x`). */
  vault: z.array(z.strictObject({ mount: nonEmpty.default('secret'), pathPrefix: nonEmpty })).default([]),
  /** Secrets Manager secret names (or the name inside an ARN) starting with `secretIdPrefix`. */
  aws: z
    .array(
      z.strictObject({
        secretIdPrefix: nonEmpty,
        region: nonEmpty.optional(),
        /** IAM roles a store's `roleArn` may name for these secrets (exact, or a prefix ending in `*`); none when empty. */
        roleArns: list.default([]),
      }),
    )
    .default([]),
  /** kubeconfig contexts and the namespaces in them. */
  clusters: z.array(z.strictObject({ context: nonEmpty, namespaces: list.min(1) })).default([]),
  /** `postgres-alternating-users` roles per database server (policy `databaseServers`). */
  postgres: z.array(z.strictObject({ server: name, roles: list.min(1), databases: list.optional() })).default([]),
  /** `aws-iam-access-key` user names. */
  iamUsers: list.default([]),
  /** `vault-database-static-role` roles per database engine mount (`<mount>/static-roles/<role>`). */
  vaultDatabase: vaultDatabaseRoles,
  /**
   * `vault-database-dynamic-role` roles per database engine mount (`<mount>/roles/<role>`): each
   * rotation mints a new database user from the role. Granted apart from `vaultDatabase` (a static
   * role of the same name is another Vault object); none when empty, so dynamic roles are refused.
   */
  vaultDatabaseDynamic: vaultDatabaseRoles,
  canaries,
});

const tenant = z.strictObject({ name, match: tenantMatch, allow: tenantAllow });

/**
 * The admin-owned policy the worker loads at startup (ROTOR_POLICY_FILE). Playbooks cannot change
 * it. A playbook is evaluated against the first tenant whose `match` fits it; no tenant, no rotation.
 */
export const policySchema = z
  .strictObject({
    apiVersion: z.literal('rotor.dev/v1'),
    kind: z.literal('RotorPolicy'),
    /** Development stacks only: every playbook may touch everything. */
    allowAll: z.boolean().default(false),
    /** The requester of a rotation cannot approve it. */
    separationOfDuties: z.boolean().default(false),
    /** Members per group: user names, matching requesters `<user>@<any host>` (or exactly `<user>@<host>`). */
    groups: z.record(name, list).default({}),
    /**
     * The only database servers rotor's admin credentials go to. A playbook's `host`/`port` (or
     * the worker's PGHOST/PGPORT when it names none) must be one of these.
     */
    databaseServers: z
      .record(name, z.strictObject({ host: nonEmpty, port: z.number().int().min(1).max(65535).default(5432) }))
      .default({}),
    /** Variables passed to command canaries besides PATH, HOME, LANG and TZ. */
    canaryEnv: z.array(envName).default([]),
    tenants: z.array(tenant).default([]),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.tenants.forEach((t, i) => {
      if (seen.has(t.name))
        ctx.addIssue({ code: 'custom', path: ['tenants', i, 'name'], message: `tenant '${t.name}' is listed twice` });
      seen.add(t.name);
      t.match.requesterGroups?.forEach((g, j) => {
        if (!(g in p.groups))
          ctx.addIssue({
            code: 'custom',
            path: ['tenants', i, 'match', 'requesterGroups', j],
            message: `group '${g}' is not defined under groups`,
          });
      });
      const servers = [
        ...t.allow.postgres.map((x, j) => [x.server, ['allow', 'postgres', j, 'server']] as const),
        ...(t.allow.canaries.postgresLogin?.servers ?? []).map(
          (s, j) => [s, ['allow', 'canaries', 'postgresLogin', 'servers', j]] as const,
        ),
      ];
      for (const [s, path] of servers) {
        if (!(s in p.databaseServers))
          ctx.addIssue({
            code: 'custom',
            path: ['tenants', i, ...path],
            message: `database server '${s}' is not defined under databaseServers`,
          });
      }
    });
  });

/** A validated policy, defaults filled in. */
export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type Tenant = Policy['tenants'][number];
