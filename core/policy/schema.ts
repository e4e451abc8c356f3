import { z } from 'zod';

// Every field carries a description (`.describe`): dev/schemas.ts turns them into
// schemas/policy.schema.json and docs/policy-reference.md (`npm run schemas`).

/** A DNS-label style name for tenants, groups and database servers. */
const name = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, -), at most 63 characters')
  .describe('A lowercase DNS label (a-z, 0-9, -), at most 63 characters.');
const nonEmpty = z.string().min(1);
const list = z.array(nonEmpty);
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
  .describe('An environment variable name.');

/** Which playbooks a tenant's rules apply to; every selector given must match. */
const tenantMatch = z
  .strictObject({
    directories: list
      .min(1)
      .optional()
      .describe(
        'Playbook file path prefixes (directories), relative to where rotor is run, e.g. `playbooks/payments/`.',
      ),
    labels: z
      .record(nonEmpty, z.string())
      .optional()
      .describe("Labels the playbook's `metadata.labels` must carry (written by the playbook's author)."),
    requesterGroups: z
      .array(name)
      .min(1)
      .optional()
      .describe('The requester must be a member of one of these groups (policy `groups`).'),
    namespaces: z
      .array(name)
      .min(1)
      .optional()
      .describe(
        "Namespaces of the management cluster whose `RotationRequest`s are this tenant's. A request made through the Kubernetes API selects its tenant by namespace alone: the first tenant listing it; directories, labels and requester groups then play no part. A tenant with only `namespaces` takes no request from the CLI.",
      ),
  })
  .refine(
    (m) => m.directories ?? m.labels ?? m.requesterGroups ?? m.namespaces,
    'give at least one of directories, labels, requesterGroups, namespaces',
  )
  .describe("Which playbooks the tenant's rules apply to; every selector given must match, and at least one is given.");

const canaries = z
  .strictObject({
    command: z
      .boolean()
      .default(false)
      .describe(
        "Command hooks run on the worker host, in the policy's `commandSandbox` (bubblewrap: another uid, no network, no view of the worker's files or processes); off unless allowed.",
      ),
    http: z
      .strictObject({
        hosts: list.min(1).describe('Allowed hosts: exact, or `*.example.com`.'),
        allowPlainHttp: z.boolean().default(false).describe('Whether plain http:// is allowed.'),
      })
      .optional()
      .describe('`http` canaries: allowed hosts, and whether plain http:// is allowed.'),
    postgresLogin: z
      .strictObject({
        servers: z.array(name).min(1).describe('Servers (policy `databaseServers`) they may log in to.'),
      })
      .optional()
      .describe('`postgres-login` canaries: servers they may log in to.'),
    mariadbLogin: z
      .strictObject({
        servers: z.array(name).min(1).describe('Servers (policy `mariadbServers`) they may log in to.'),
      })
      .optional()
      .describe('`mariadb-login` canaries: servers they may log in to.'),
    awsSts: z
      .strictObject({
        endpoints: list.default([]).describe("STS endpoints a playbook's `endpoint` may name."),
      })
      .optional()
      .describe('`aws-sts` canaries; a playbook `endpoint` must be one of `endpoints`.'),
    redisAuth: z
      .strictObject({
        servers: z.array(name).min(1).describe('Servers (policy `redisServers`) they may authenticate to.'),
      })
      .optional()
      .describe('`redis-auth` canaries: servers they may authenticate to.'),
    kubernetesJob: z
      .strictObject({
        contexts: list.min(1).describe('kubeconfig contexts the Jobs may run in.'),
        namespaces: list.min(1).describe('Namespaces the Jobs may run in.'),
        images: list.min(1).describe('Images the Jobs may run: exact, or a prefix ending in `*`.'),
        serviceAccounts: list.default([]).describe('Service accounts the Jobs may run as; none when empty.'),
      })
      .optional()
      .describe('`kubernetes-job` canaries: where and as what they may run.'),
  })
  .prefault({})
  .describe('Which canaries playbooks may run, and against what.');

/** An absolute host path without `.`/`..` segments, shown read-only to sandboxed command canaries. */
const hostPath = z
  .string()
  .regex(/^(\/[^/\0]+)+$/, 'must be an absolute path')
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments')
  .describe('An absolute host path.');

/**
 * Where command canaries run. `bubblewrap` (the default) gives each its own uid, mount, pid, ipc,
 * uts and network namespaces; `none` runs them as the worker's own user, which only a
 * single-tenant policy may choose (checked in policySchema).
 */
const commandSandbox = z
  .strictObject({
    type: z
      .enum(['bubblewrap', 'none'])
      .default('bubblewrap')
      .describe(
        "`bubblewrap`: each command canary runs as uid 65534 in its own user, mount, pid, ipc, uts and network namespaces (no network at all), sees /usr, a few /etc entries, `readOnlyPaths`, its own /proc and an empty /tmp, and dies with its whole process tree at its timeout; a worker that cannot create the sandbox refuses command canaries. `none`: full trust, the canary runs as the worker's user with the worker's files, /proc and network; only with `allowAll: true`.",
      ),
    readOnlyPaths: z
      .array(hostPath)
      .default([])
      .describe(
        "Host paths (e.g. `/opt/canary-tools`) sandboxed command canaries see read-only, besides /usr and the loader's /etc entries. Never list key, kubeconfig or state directories.",
      ),
  })
  .prefault({})
  .describe('Where command canaries run: the bubblewrap sandbox (default), or as the worker (single-tenant only).');

/**
 * Vault database engine roles per mount, listed exactly; `connections`, when given, are the engine
 * connections (`<mount>/config/<connection>`) the playbook may name for them.
 */
const vaultDatabaseRoles = z
  .array(
    z
      .strictObject({
        mount: nonEmpty.default('database').describe("Mount of Vault's database secrets engine."),
        roles: list.min(1).describe('Role names, listed exactly.'),
        connections: list
          .optional()
          .describe('Engine connections (`<mount>/config/<connection>`) the playbook may name for these roles.'),
      })
      .describe('Roles of one database engine mount.'),
  )
  .default([]);

/** What a tenant's playbooks may touch. Anything not listed is refused. */
const tenantAllow = z
  .strictObject({
    vault: z
      .array(
        z
          .strictObject({
            mount: nonEmpty.default('secret').describe('KV v2 mount.'),
            pathPrefix: nonEmpty.describe('Path prefix, matched by whole path segments.'),
          })
          .describe('A KV v2 location.'),
      )
      .default([])
      .describe(
        'Vault KV locations: `pathPrefix` matches whole path segments (`apps/payments` allows `apps/payments/x`).',
      ),
    aws: z
      .array(
        z
          .strictObject({
            secretIdPrefix: nonEmpty.describe(
              "Secret names (or the name inside an ARN) must be this or below it, by whole '/' segments (`team` allows `team/x`, not `teamx`).",
            ),
            region: nonEmpty.optional().describe('When set, the secret must be in this region.'),
            account: z
              .string()
              .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
              .optional()
              .describe(
                'AWS account whose secrets a playbook may name by ARN. Without it, an ARN is refused: the same name in another account is another team’s secret.',
              ),
            roleArns: list
              .default([])
              .describe(
                "IAM roles a store's `roleArn` may name for these secrets (exact, or a prefix ending in `*`); none when empty.",
              ),
          })
          .describe('Secrets Manager secrets by name prefix.'),
      )
      .default([])
      .describe('Secrets Manager secret names (or the name inside an ARN) under `secretIdPrefix`, by segment.'),
    clusters: z
      .array(
        z
          .strictObject({
            context: nonEmpty.describe('kubeconfig context.'),
            namespaces: list.min(1).describe('Namespaces in that context.'),
          })
          .describe('A kubeconfig context and namespaces in it.'),
      )
      .default([])
      .describe('kubeconfig contexts and the namespaces in them.'),
    postgres: z
      .array(
        z
          .strictObject({
            server: name.describe('Database server (policy `databaseServers`).'),
            roles: list.min(1).describe('Roles the playbooks may rotate on that server.'),
            databases: list.optional().describe('When set, the databases they may name.'),
          })
          .describe('Roles on one database server.'),
      )
      .default([])
      .describe('`postgres-alternating-users` roles per database server (policy `databaseServers`).'),
    redis: z
      .array(
        z
          .strictObject({
            server: name.describe('Redis server (policy `redisServers`).'),
            users: list.min(1).describe('ACL users the playbooks may rotate on that server, listed exactly.'),
          })
          .describe('ACL users on one Redis server.'),
      )
      .default([])
      .describe('`redis-acl-user` users per Redis server (policy `redisServers`).'),
    mariadb: z
      .array(
        z
          .strictObject({
            server: name.describe('MariaDB/MySQL server (policy `mariadbServers`).'),
            users: list.min(1).describe('User names (the part before `@`) the playbooks may rotate on that server.'),
            userHosts: list
              .default(['%'])
              .describe("Account host parts (`'<user>'@'<host>'`) those users may have, listed exactly."),
            databases: list.optional().describe('When set, the databases the playbooks may name.'),
          })
          .describe('Users on one MariaDB/MySQL server.'),
      )
      .default([])
      .describe('`mariadb-users` users per server (policy `mariadbServers`); none when empty.'),
    jwks: z
      .array(
        z
          .strictObject({
            context: nonEmpty.describe('kubeconfig context.'),
            namespaces: list.min(1).describe('Namespaces in that context.'),
            configMaps: list.min(1).describe('ConfigMap names in those namespaces, listed exactly.'),
          })
          .describe('JWKS ConfigMaps in one kubeconfig context.'),
      )
      .default([])
      .describe(
        '`jwt-signing-key` JWKS ConfigMaps the playbooks may create and change (and `jwt-verify` canaries may read): per context, the namespaces and ConfigMap names; none when empty.',
      ),
    pki: z
      .array(
        z
          .strictObject({
            mount: nonEmpty.default('pki').describe("Mount of Vault's PKI secrets engine."),
            roles: list
              .min(1)
              .describe('PKI roles (`<mount>/issue/<role>`) the playbooks may issue from, listed exactly.'),
            domains: list
              .min(1)
              .describe(
                'Names the certificates may carry (common name and every alt name): exact, or `*.example.com` for any name below example.com.',
              ),
          })
          .describe('Roles of one PKI mount and the names certificates from them may carry.'),
      )
      .default([])
      .describe(
        '`vault-pki-certificate` PKI mounts, roles and certificate names; none when empty, so certificates are refused.',
      ),
    vaultPkiCa: z
      .array(
        z
          .strictObject({
            mount: nonEmpty.describe('Mount of the PKI secrets engine.'),
            issuerPrefixes: list
              .min(1)
              .describe(
                '`issuerPrefix` values the playbooks may use: rotor makes and changes only issuers named `<prefix>-…`.',
              ),
            roles: list
              .min(1)
              .describe('PKI roles (`leafRole`, `vault-pki-handshake` `role`) the playbooks may issue through.'),
            bundles: z
              .array(
                z
                  .strictObject({
                    context: nonEmpty.describe('kubeconfig context.'),
                    namespaces: list.min(1).describe('Namespaces in that context.'),
                    configMaps: list
                      .min(1)
                      .describe('Trust-bundle ConfigMap names in those namespaces, listed exactly.'),
                  })
                  .describe('Trust-bundle ConfigMaps in one kubeconfig context.'),
              )
              .min(1)
              .describe("Where the trust bundle of this mount's CAs may be published (and read by canaries)."),
          })
          .describe('One PKI mount: its issuer prefixes, roles and trust bundles.'),
      )
      .default([])
      .describe(
        '`vault-pki-ca-rollover` CAs and `vault-pki-handshake` canaries: per PKI mount, the issuer prefixes, roles and trust-bundle ConfigMaps; none when empty.',
      ),
    iamUsers: list.default([]).describe('`aws-iam-access-key` user names.'),
    vaultDatabase: vaultDatabaseRoles.describe(
      '`vault-database-static-role` roles per database engine mount (`<mount>/static-roles/<role>`).',
    ),
    vaultDatabaseDynamic: vaultDatabaseRoles.describe(
      '`vault-database-dynamic-role` roles per database engine mount (`<mount>/roles/<role>`): each rotation mints a new database user from the role. Granted apart from `vaultDatabase` (a static role of the same name is another Vault object); none when empty, so dynamic roles are refused.',
    ),
    canaries,
  })
  .describe("What the tenant's playbooks may touch. Anything not listed is refused.");

const tenant = z
  .strictObject({
    name: name.describe("The tenant's name, unique in the policy."),
    match: tenantMatch,
    allow: tenantAllow,
  })
  .describe('A team: which playbooks are its and what they may touch.');

/**
 * The admin-owned policy the worker loads at startup (ROTOR_POLICY_FILE). Playbooks cannot change
 * it. A playbook is evaluated against the first tenant whose `match` fits it; no tenant, no rotation.
 */
export const policySchema = z
  .strictObject({
    apiVersion: z.literal('rotor.dev/v1').describe('Version of the policy format.'),
    kind: z.literal('RotorPolicy').describe('What this file is.'),
    allowAll: z.boolean().default(false).describe('Development stacks only: every playbook may touch everything.'),
    separationOfDuties: z.boolean().default(false).describe('The requester of a rotation cannot approve it.'),
    compromise: z
      .strictObject({
        declaredBy: z
          .array(name)
          .optional()
          .describe(
            "Groups (under `groups`) whose members may declare a credential compromised (`rotor rotate --emergency --compromised`, a RotationRequest's or RotationIncident's `compromised`); a rotation anyone else declares so is refused at plan. Omitted: whoever may start the emergency; empty: no one.",
          ),
        approval: z
          .enum(['skipped', 'required'])
          .default('skipped')
          .describe(
            "Whether a compromised rotation skips its playbook's approval gate (`skipped`: the old credential is revoked without waiting) or waits at it as any rotation does (`required`).",
          ),
      })
      .default({ approval: 'skipped' })
      .describe(
        'Who may declare a compromise, which makes consumer problems warnings and skips the approval gate, and whether approval is still required.',
      ),
    identity: z
      .enum(['claims', 'kubernetes'])
      .default('claims')
      .describe(
        "Where a rotation's requester and approver come from. `claims` (single-tenant, the demo): what the starter says (`--requested-by`, `--by`), from any client holding the codec key. `kubernetes`: only rotor's controller, which takes them from the management cluster's apiserver and RBAC (`rotor request`, `--via-kube`, a `RotationPlaybook`'s schedule), may start a rotation or approve, abort, skip the soak or retry one; anything else is refused before it changes anything.",
      ),
    groups: z
      .record(name, list)
      .default({})
      .describe('Members per group: user names, matching requesters `<user>@<any host>` (or exactly `<user>@<host>`).'),
    databaseServers: z
      .record(
        name,
        z
          .strictObject({
            host: nonEmpty.describe('Host name or address.'),
            port: z.number().int().min(1).max(65535).default(5432).describe('Port.'),
          })
          .describe('A PostgreSQL server, by the name tenants refer to it with.'),
      )
      .default({})
      .describe(
        "The only database servers rotor's admin credentials go to. A playbook's `host`/`port` (or the worker's PGHOST/PGPORT when it names none) must be one of these.",
      ),
    redisServers: z
      .record(
        name,
        z
          .strictObject({
            host: nonEmpty.describe('Host name or address.'),
            port: z.number().int().min(1).max(65535).default(6379).describe('Port.'),
            tls: z
              .boolean()
              .default(false)
              .describe('Whether the server is reached with TLS; a playbook must say the same.'),
          })
          .describe('A Redis server, by the name tenants refer to it with.'),
      )
      .default({})
      .describe(
        "The only Redis servers rotor's Redis admin credentials (ROTOR_REDIS_USERNAME) go to. A playbook's `host`/`port`/`tls` must be one of these.",
      ),
    mariadbServers: z
      .record(
        name,
        z
          .strictObject({
            host: nonEmpty.describe('Host name or address.'),
            port: z.number().int().min(1).max(65535).default(3306).describe('Port.'),
          })
          .describe('A MariaDB or MySQL server, by the name tenants refer to it with.'),
      )
      .default({})
      .describe(
        "The only MariaDB/MySQL servers rotor's admin account goes to. A `mariadb-users` playbook's `host`/`port` (or the worker's ROTOR_MARIADB_HOST/PORT when it names none) must be one of these.",
      ),
    canaryEnv: z
      .array(envName)
      .default([])
      .describe('Variables passed to command canaries besides PATH, HOME, LANG and TZ.'),
    commandSandbox,
    tenants: z
      .array(tenant)
      .default([])
      .describe('A playbook is evaluated against the first tenant whose `match` fits it; no tenant, no rotation.'),
  })
  .superRefine((p, ctx) => {
    if (p.commandSandbox.type === 'none' && !p.allowAll)
      ctx.addIssue({
        code: 'custom',
        path: ['commandSandbox', 'type'],
        message:
          "none runs command canaries as the worker's user, with its files, /proc and network (full trust): only a single-tenant policy (allowAll: true) may choose it; use bubblewrap",
      });
    p.compromise.declaredBy?.forEach((g, j) => {
      if (!(g in p.groups))
        ctx.addIssue({
          code: 'custom',
          path: ['compromise', 'declaredBy', j],
          message: `group '${g}' is not defined under groups`,
        });
    });
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
      // Every server a tenant names must be defined in the policy's list of its kind.
      const serverRefs = [
        {
          under: 'databaseServers',
          what: 'database server',
          refs: [
            ...t.allow.postgres.map((x, j) => [x.server, ['allow', 'postgres', j, 'server']] as const),
            ...(t.allow.canaries.postgresLogin?.servers ?? []).map(
              (s, j) => [s, ['allow', 'canaries', 'postgresLogin', 'servers', j]] as const,
            ),
          ],
        },
        {
          under: 'redisServers',
          what: 'Redis server',
          refs: [
            ...t.allow.redis.map((x, j) => [x.server, ['allow', 'redis', j, 'server']] as const),
            ...(t.allow.canaries.redisAuth?.servers ?? []).map(
              (s, j) => [s, ['allow', 'canaries', 'redisAuth', 'servers', j]] as const,
            ),
          ],
        },
      ] as const;
      for (const { under, what, refs } of serverRefs) {
        for (const [s, path] of refs) {
          if (!(s in p[under]))
            ctx.addIssue({
              code: 'custom',
              path: ['tenants', i, ...path],
              message: `${what} '${s}' is not defined under ${under}`,
            });
        }
      }
      const mariadbServers = [
        ...t.allow.mariadb.map((x, j) => [x.server, ['allow', 'mariadb', j, 'server']] as const),
        ...(t.allow.canaries.mariadbLogin?.servers ?? []).map(
          (s, j) => [s, ['allow', 'canaries', 'mariadbLogin', 'servers', j]] as const,
        ),
      ];
      for (const [s, path] of mariadbServers) {
        if (!(s in p.mariadbServers))
          ctx.addIssue({
            code: 'custom',
            path: ['tenants', i, ...path],
            message: `MariaDB server '${s}' is not defined under mariadbServers`,
          });
      }
    });
  })
  .describe(
    "The admin-owned policy the worker loads at startup (ROTOR_POLICY_FILE): what each tenant's playbooks may touch. Playbooks cannot change it.",
  );

/** Where command canaries run (the policy's `commandSandbox`, defaults filled in). */
export type CommandSandboxSettings = z.output<typeof commandSandbox>;

/** A validated policy, defaults filled in. */
export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type Tenant = Policy['tenants'][number];
