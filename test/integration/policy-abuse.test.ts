/**
 * Issue 11's abuses, end to end: a real worker with real activities under the example two-team
 * policy (dev/policy/two-teams.yaml), against the stack's Vault, moto, PostgreSQL, Redis and
 * clusters. A playbook of the payments team tries to reach what only the orders team, or nobody,
 * may touch. The victims exist before the attack, set up by the orders team (here: the stack's
 * admin access, which the attacking rotation never holds): its Vault entry, Secrets Manager secret,
 * IAM user with a key, PostgreSQL roles, Redis ACL user, a Secret in its cluster, a Secret in
 * kube-system, a Vault database static role, its dynamic role, and a secret under payments' own
 * prefix in another AWS account. Each abuse is refused at plan with the field and the rule,
 * and every victim's real state read after the attack equals the state read before it; a last
 * test proves that comparison
 * reports a deliberate change. The happy path still rotates under the same policy, as the
 * narrowest Kubernetes identity that works: the one `rotor rbac` prints.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CoreV1Api, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { ensureVaultPostgresStaticRole } from '../../adapters/credentials/vault-db';
import { ensureVaultPostgresDynamicRole } from '../../adapters/credentials/vault-db-dynamic';
import { credentialDepsFromEnv } from '../../adapters/credentials/index';
import { WorkflowErrorTypes } from '../../core/failures';
import type { Playbook, PlaybookInput, Store } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { ensureSharedNamespace, kubeconfigFor, secretData } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { withPgAdmin } from '../helpers/postgres';
import { createRedisUser, deleteRedisUsers, stackRedis, withRedisAdmin } from '../helpers/redis';
import { asGeneratedIdentity } from '../helpers/rbac-identity';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore, vaultTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import {
  awsSecretProbe,
  changesBetween,
  iamKeysProbe,
  kubeConfigMapProbe,
  kubeSecretProbe,
  pgRolesProbe,
  reportedChanges,
  redisAclUserProbe,
  snapshotVictims,
  vaultDynamicRoleProbe,
  vaultKvProbe,
  vaultStaticRoleProbe,
} from '../helpers/victims';
import type { Probe } from '../helpers/victims';
import { manualRotationOutcome, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const playbookFile = 'playbooks/payments/abuse.yaml';
const requestedBy = 'alice@laptop';
const env = useStackEnv();
const deps = credentialDepsFromEnv();
const vault = deps.vault;
const iam = new IAMClient({});
const sm = new SecretsManagerClient({});
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const suffix = randomBytes(4).toString('hex');
const secretValue = () => randomBytes(16).toString('hex');

let tw: TestWorker;
/** The payments team's own secret: the playbooks below may name it, so none may rotate it. */
let own: TestStore;
let ownBefore: StoreSnapshot;
/** What the orders team owns, in both stores. */
let ordersVault: TestStore;
let ordersAws: TestStore;
/** The orders team's IAM user and PostgreSQL roles, as the policy names them. */
const ordersIamUser = 'orders-ci';
const ordersRoles = ['orders_a', 'orders_b'];
/** The orders team's Redis ACL user on the stack's Redis (policy server `cache`). */
const ordersRedisUser = 'orders-cache';
/** The orders team's delivered Secret in its own cluster, and a Secret in an allowed cluster's kube-system. */
const ordersSecret = { context: 'cluster-c', namespace: 'orders', name: `orders-db-${suffix}` };
const systemSecret = { context: 'cluster-a', namespace: 'kube-system', name: `rotor-victim-${suffix}` };
/** The orders team's JWKS ConfigMap (its verifiers' public keys) in its own cluster, as the policy names it. */
const ordersJwks = { context: 'cluster-c', namespace: 'orders', name: 'orders-jwks' };
/** A Vault database static role no tenant may rotate, over its own PostgreSQL user. */
const reporting = { connection: `reporting-db-${suffix}`, role: `reporting-${suffix}`, user: `reporting_${suffix}` };
/** A Vault database dynamic role of the orders team, on a connection of its own: no tenant may mint from it. */
const ordersDynamic = { connection: `orders-dyn-db-${suffix}`, role: `orders-dyn-${suffix}` };
/**
 * A Secrets Manager secret named under payments' own prefix, but in another AWS account
 * (moto keeps accounts apart; made with a role assumed there): the policy's payments entry names
 * account 123456789012 only.
 */
const otherAccount = '999999999999';
let otherSm: SecretsManagerClient;
let otherAccountArn: string;
/** Undoes the victims' setup, last first. */
const teardown: (() => Promise<unknown>)[] = [];

const vaultPathOf = (ts: TestStore): string => {
  if (ts.store.type !== 'vault') throw new Error('not a Vault store');
  return ts.store.path;
};
const awsIdOf = (ts: TestStore): string => {
  if (ts.store.type !== 'aws') throw new Error('not a Secrets Manager store');
  return ts.store.secretId;
};

/** Each victim's real state, read with admin access (see test/helpers/victims.ts). */
const victim = {
  ownEntry: "payments' own Vault entry",
  ordersEntry: "orders' Vault entry",
  ordersSecretsManager: "orders' Secrets Manager secret",
  ordersIam: `orders' IAM user ${ordersIamUser}`,
  ordersRoles: "orders' PostgreSQL roles",
  ordersRedis: `orders' Redis ACL user ${ordersRedisUser}`,
  ordersSecret: `orders' Secret in ${ordersSecret.context}`,
  systemSecret: `a Secret in ${systemSecret.context} ${systemSecret.namespace}`,
  ordersJwks: `orders' JWKS ConfigMap in ${ordersJwks.context}`,
  reportingRole: 'the reporting Vault database role',
  ordersDynamic: "orders' Vault database dynamic role and its leases",
  otherAccountSecret: `a payments/ secret in AWS account ${otherAccount}`,
};
let victims: Record<string, Probe>;

const existing = (call: Promise<unknown>) =>
  call.catch((e: unknown) => {
    if ((e as Error).name !== 'EntityAlreadyExistsException') throw e;
  });

/** The orders team's resources (and one of nobody's), made before any attack by an identity rotor does not hold. */
async function setUpVictims(): Promise<void> {
  ordersVault = await vaultTestStore(secretValue(), undefined, 'apps/orders/');
  ordersAws = await awsTestStore(secretValue(), undefined, 'orders/');

  await existing(iam.send(new CreateUserCommand({ UserName: ordersIamUser })));
  const keys = (await iam.send(new ListAccessKeysCommand({ UserName: ordersIamUser }))).AccessKeyMetadata ?? [];
  if (keys.length === 0) await iam.send(new CreateAccessKeyCommand({ UserName: ordersIamUser }));

  await withPgAdmin(async (c) => {
    const present = (
      await c.query<{ rolname: string }>('select rolname from pg_roles where rolname = any($1)', [ordersRoles])
    ).rows.map((r) => r.rolname);
    for (const [i, role] of ordersRoles.entries()) {
      if (present.includes(role)) continue;
      const login = i === 0 ? `LOGIN PASSWORD ${pg.escapeLiteral(secretValue())}` : 'NOLOGIN';
      await c.query(`CREATE ROLE ${pg.escapeIdentifier(role)} ${login}`);
      teardown.push(() => withPgAdmin((d) => d.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`)));
    }
    await c.query(
      `CREATE ROLE ${pg.escapeIdentifier(reporting.user)} LOGIN PASSWORD ${pg.escapeLiteral(secretValue())}`,
    );
  });
  teardown.push(() => withPgAdmin((c) => c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(reporting.user)}`)));
  await createRedisUser(ordersRedisUser);
  teardown.push(() => deleteRedisUsers([ordersRedisUser]));
  await ensureVaultPostgresStaticRole(vault, {
    connection: reporting.connection,
    role: reporting.role,
    username: reporting.user,
    admin: deps.pgAdmin(),
  });
  teardown.push(() => vault.delete(`database/config/${reporting.connection}`));
  teardown.push(() => vault.delete(`database/static-roles/${reporting.role}`));

  for (const s of [ordersSecret, systemSecret]) {
    const core = kubeconfigFor(s.context).makeApiClient(CoreV1Api);
    await ensureSharedNamespace(kubeconfigFor(s.context), s.namespace);
    await core.createNamespacedSecret({
      namespace: s.namespace,
      body: { metadata: { name: s.name }, stringData: { value: secretValue() } },
    });
    teardown.push(() => core.deleteNamespacedSecret({ namespace: s.namespace, name: s.name }));
  }

  // Made after the loop above, which makes the orders namespace when it is missing.
  const ordersCore = kubeconfigFor(ordersJwks.context).makeApiClient(CoreV1Api);
  const jwksRef = { namespace: ordersJwks.namespace, name: ordersJwks.name };
  await ordersCore.deleteNamespacedConfigMap(jwksRef).catch(() => undefined);
  await ordersCore.createNamespacedConfigMap({
    namespace: ordersJwks.namespace,
    body: {
      metadata: { name: ordersJwks.name },
      data: { 'jwks.json': JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'orders', kid: 'orders-1' }] }) },
    },
  });
  teardown.push(() => ordersCore.deleteNamespacedConfigMap(jwksRef));

  await ensureVaultPostgresDynamicRole(vault, { ...ordersDynamic, admin: deps.pgAdmin() });
  teardown.push(() => vault.delete(`database/config/${ordersDynamic.connection}`));
  teardown.push(() => vault.delete(`database/roles/${ordersDynamic.role}`));
  // Leases minted by the comparison test below (never by an attack) are revoked before the role goes.
  teardown.push(() => vault.write(`sys/leases/revoke-prefix/database/creds/${ordersDynamic.role}`, {}));

  const assumed = await new STSClient({}).send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${otherAccount}:role/victim-admin`, RoleSessionName: 'victims' }),
  );
  const c = assumed.Credentials;
  otherSm = new SecretsManagerClient({
    credentials: {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken,
    },
  });
  const made = await otherSm.send(
    new CreateSecretCommand({ Name: `payments/other-account-${suffix}`, SecretString: secretValue() }),
  );
  otherAccountArn = made.ARN ?? '';
  expect(otherAccountArn).toContain(`:${otherAccount}:secret:payments/`);
  teardown.push(() =>
    otherSm.send(new DeleteSecretCommand({ SecretId: otherAccountArn, ForceDeleteWithoutRecovery: true })),
  );

  victims = {
    [victim.ownEntry]: vaultKvProbe(vault, 'secret', vaultPathOf(own)),
    [victim.ordersEntry]: vaultKvProbe(vault, 'secret', vaultPathOf(ordersVault)),
    [victim.ordersSecretsManager]: awsSecretProbe(sm, awsIdOf(ordersAws)),
    [victim.ordersIam]: iamKeysProbe(iam, ordersIamUser),
    [victim.ordersRoles]: pgRolesProbe(ordersRoles),
    [victim.ordersRedis]: redisAclUserProbe(ordersRedisUser),
    [victim.ordersSecret]: kubeSecretProbe(
      kubeconfigFor(ordersSecret.context),
      ordersSecret.namespace,
      ordersSecret.name,
    ),
    [victim.systemSecret]: kubeSecretProbe(
      kubeconfigFor(systemSecret.context),
      systemSecret.namespace,
      systemSecret.name,
    ),
    [victim.reportingRole]: vaultStaticRoleProbe(vault, 'database', reporting.role),
    [victim.ordersJwks]: kubeConfigMapProbe(kubeconfigFor(ordersJwks.context), ordersJwks.namespace, ordersJwks.name),
    [victim.ordersDynamic]: vaultDynamicRoleProbe(vault, 'database', ordersDynamic.role),
    [victim.otherAccountSecret]: awsSecretProbe(otherSm, otherAccountArn),
  };
}

beforeAll(async () => {
  tw = await startTestWorker(createActivities(depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' })));
  own = await vaultTestStore(secretValue(), undefined, 'apps/payments/');
  ownBefore = await own.snapshot();
  await setUpVictims();
});

afterAll(async () => {
  await tw?.close();
  for (const undo of teardown.reverse()) await undo().catch(() => undefined);
});

async function refusal(playbook: Playbook): Promise<ApplicationFailure> {
  const out = await manualRotationOutcome(tw, { playbook, playbookFile, requestedBy });
  if (out.ok) throw new Error(`${playbook.spec.secret.name} was rotated although the policy forbids it`);
  const cause = (out.error as WorkflowFailedError).cause;
  if (!(cause instanceof ApplicationFailure)) throw out.error;
  return cause;
}

const cluster = (target: { context: string; namespace: string; name: string }) => ({
  name: target.context,
  context: target.context,
  delivery: 'push' as const,
  namespace: target.namespace,
  secretName: target.name,
});

type Spec = Partial<PlaybookInput['spec']>;
/**
 * `unparsed`: the store is set after the playbook schema parsed the playbook, as a crafted workflow
 * input is. `rule`: the policy rule, or the schema's words, that names what is refused.
 */
const abuses: {
  abuse: string;
  store?: () => Store;
  unparsed?: boolean;
  spec?: () => Spec;
  path: string;
  rule: string;
  /** How it is refused, when not by the policy (whose rule `rule` then says what was refused). */
  refused?: { type: string; as: string };
}[] = [
  {
    abuse: "points secret.store at the other team's Vault path",
    store: () => ordersVault.store,
    path: 'spec.secret.store.path',
    rule: 'tenants[payments].allow.vault',
  },
  {
    // Vault's HTTP API decodes the path before routing: this is orders' entry to Vault. The CLI's
    // playbook schema refuses '%'; a Temporal client sends the input without it, and the worker
    // checks the playbook again, before the policy.
    abuse: "reaches the other team's Vault entry through a percent-encoded '..' in its own path",
    unparsed: true,
    refused: { type: WorkflowErrorTypes.invalidPlaybook, as: 'invalid playbook, nothing was changed' },
    store: () => ({
      ...own.store,
      path: vaultPathOf(ordersVault).replace(/^apps\/orders\//, 'apps/payments/%2e%2e/orders/'),
    }),
    path: 'spec.secret.store.path',
    rule: "contains '%': percent-encoding is refused",
  },
  {
    abuse: "points secret.store at the other team's Secrets Manager secret",
    store: () => ordersAws.store,
    path: 'spec.secret.store.secretId',
    rule: 'tenants[payments].allow.aws',
  },
  {
    abuse: "names a secret under its own prefix in another AWS account's ARN",
    store: () => ({ type: 'aws', secretId: otherAccountArn }),
    path: 'spec.secret.store.secretId',
    rule: 'tenants[payments].allow.aws[].account',
  },
  {
    abuse: "delivers over the other team's Secret in a context its tenant may not use",
    spec: () => ({ clusters: [cluster(ordersSecret)] }),
    path: 'spec.clusters[0].context',
    rule: 'tenants[payments].allow.clusters',
  },
  {
    abuse: 'delivers over a Secret in another namespace of an allowed context',
    spec: () => ({ clusters: [cluster(systemSecret)] }),
    path: 'spec.clusters[0].namespace',
    rule: 'tenants[payments].allow.clusters',
  },
  {
    abuse: "names the other team's PostgreSQL roles",
    spec: () => ({
      credential: { kind: 'postgres-alternating-users', roles: ['orders_a', 'orders_b'], database: 'rotor' },
    }),
    path: 'spec.credential.roles[0]',
    rule: 'tenants[payments].allow.postgres',
  },
  {
    abuse: 'sends the admin database credentials to a server of its choice',
    spec: () => ({
      credential: {
        kind: 'postgres-alternating-users',
        roles: ['payments_a', 'payments_b'],
        database: 'rotor',
        host: '203.0.113.7',
      },
    }),
    path: 'spec.credential.host',
    rule: 'databaseServers',
  },
  {
    abuse: "rotates the other team's Redis ACL user (on the same Redis, through the port it may use)",
    spec: () => ({ credential: { kind: 'redis-acl-user', user: ordersRedisUser, ...stackRedis.tls } }),
    path: 'spec.credential.user',
    rule: 'tenants[payments].allow.redis',
  },
  {
    abuse: 'sends the Redis admin credentials to a server of its choice',
    spec: () => ({ credential: { kind: 'redis-acl-user', user: 'payments-cache', host: '203.0.113.7' } }),
    path: 'spec.credential.host',
    rule: 'redisServers',
  },
  {
    abuse: 'downgrades the Redis admin connection to its TLS server to plaintext',
    spec: () => ({ credential: { kind: 'redis-acl-user', user: 'payments-cache', ...stackRedis.tls, tls: false } }),
    path: 'spec.credential.tls',
    rule: 'redisServers',
  },
  {
    abuse: 'sends a redis-auth canary (the new password) to a server of its choice',
    spec: () => ({ canaries: [{ type: 'redis-auth', name: 'auth', host: '203.0.113.7' }] }),
    path: 'spec.canaries[0].host',
    rule: 'redisServers',
  },
  {
    abuse: "publishes a JWT signing key's JWKS into the other team's ConfigMap",
    spec: () => ({
      credential: { kind: 'jwt-signing-key', maxTokenLifetime: '1m', jwks: { configMap: ordersJwks.name } },
      soak: '1m',
      clusters: [cluster({ ...ordersJwks, name: 'signer' })],
    }),
    path: 'spec.clusters[0].namespace',
    rule: 'tenants[payments].allow.jwks',
  },
  {
    abuse: 'writes its JWKS over a ConfigMap of its own namespace that is not its JWKS',
    spec: () => ({
      credential: { kind: 'jwt-signing-key', maxTokenLifetime: '1m', jwks: { configMap: 'app-config' } },
      soak: '1m',
      clusters: [cluster({ context: 'cluster-a', namespace: 'payments', name: 'signer' })],
    }),
    path: 'spec.clusters[0].namespace',
    rule: 'tenants[payments].allow.jwks',
  },
  {
    abuse: "points a jwt-verify canary at the other team's JWKS",
    spec: () => ({
      canaries: [
        {
          type: 'jwt-verify',
          name: 'verify',
          cluster: ordersJwks.context,
          namespace: ordersJwks.namespace,
          configMap: ordersJwks.name,
        },
      ],
    }),
    path: 'spec.canaries[0].configMap',
    rule: 'tenants[payments].allow.jwks',
  },
  {
    abuse: "rotates the other team's IAM user's keys",
    spec: () => ({ credential: { kind: 'aws-iam-access-key', userName: ordersIamUser, revoke: 'delete' } }),
    path: 'spec.credential.userName',
    rule: 'tenants[payments].allow.iamUsers',
  },
  {
    abuse: 'rotates a Vault database role outside its tenant',
    spec: () => ({
      credential: {
        kind: 'vault-database-static-role',
        mount: 'database',
        role: reporting.role,
        connection: reporting.connection,
      },
    }),
    path: 'spec.credential.role',
    rule: 'tenants[payments].allow.vaultDatabase',
  },
  {
    abuse: "mints credentials from the other team's Vault dynamic database role",
    spec: () => ({
      credential: {
        kind: 'vault-database-dynamic-role',
        mount: 'database',
        role: ordersDynamic.role,
        connection: ordersDynamic.connection,
      },
    }),
    path: 'spec.credential.role',
    rule: 'tenants[payments].allow.vaultDatabaseDynamic',
  },
  {
    abuse: "runs a command on the worker (with the worker's environment)",
    spec: () => ({ canaries: [{ type: 'command', name: 'env', command: ['/usr/bin/env'] }] }),
    path: 'spec.canaries[0].type',
    rule: 'tenants[payments].allow.canaries.command',
  },
  {
    abuse: 'sends an http canary to the cloud metadata address',
    spec: () => ({ canaries: [{ type: 'http', name: 'imds', url: 'http://169.254.169.254/latest/meta-data/' }] }),
    path: 'spec.canaries[0].url',
    rule: 'tenants[payments].allow.canaries.http',
  },
  {
    abuse: 'runs a kubernetes-job canary with an image of its choice',
    spec: () => ({
      canaries: [
        {
          type: 'kubernetes-job',
          name: 'job',
          cluster: 'cluster-a',
          namespace: 'payments',
          image: 'evil.example/miner:1',
          command: ['/bin/true'],
        },
      ],
    }),
    path: 'spec.canaries[0].image',
    rule: 'tenants[payments].allow.canaries.kubernetesJob.images',
  },
  {
    abuse: 'sends a postgres-login canary to a server of its choice',
    spec: () => ({ canaries: [{ type: 'postgres-login', name: 'login', host: '203.0.113.7' }] }),
    path: 'spec.canaries[0].host',
    rule: 'tenants[payments].allow.canaries.postgresLogin',
  },
];

describe('a playbook cannot make rotor its deputy', () => {
  it.each(abuses)(
    'refused before any change when it $abuse',
    async ({ store, unparsed, spec, path, rule, refused }) => {
      const before = await snapshotVictims(victims);
      const parsed = testPlaybook(store && !unparsed ? store() : own.store, spec?.());
      const playbook =
        store && unparsed
          ? { ...parsed, spec: { ...parsed.spec, secret: { ...parsed.spec.secret, store: store() } } }
          : parsed;
      const failure = await refusal(playbook);
      expect(failure.type).toBe(refused?.type ?? WorkflowErrorTypes.policyRefused);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain(refused?.as ?? 'refused by the rotor policy, nothing was changed');
      expect(failure.message).toContain(`${path}: `);
      expect(failure.message).toContain(refused ? rule : `policy rule ${rule}`);
      // Every victim as it was before the attack: versions, stages, keys, roles, resourceVersions.
      expect(changesBetween(before, await snapshotVictims(victims))).toEqual([]);
    },
  );
});

describe('under the same policy, what it allows', () => {
  const namespace = 'payments';
  const kc = kubeconfigFor('cluster-a');
  const core = kc.makeApiClient(CoreV1Api);

  beforeAll(() => ensureSharedNamespace(kc, namespace));

  it("rotates the team's own secret into its own namespace, as exactly the identity `rotor rbac` prints", async () => {
    const secretName = `ok-${randomUUID().slice(0, 8)}`;
    const playbook = testPlaybook(own.store, {
      clusters: [cluster({ context: 'cluster-a', namespace, name: secretName })],
    });
    // The narrowest access: the admin policy admits the playbook, the generated Role lets it work.
    const restricted = await asGeneratedIdentity(playbook, { serviceAccount: 'rotor', namespace: 'rotor-system' });
    const narrow = await startTestWorker(
      createActivities({
        ...depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' }),
        kubeconfig: restricted,
      }),
    );
    try {
      const out = await manualRotationOutcome(narrow, { playbook, playbookFile, requestedBy });
      expect(out.ok ? undefined : out.error.cause).toBeUndefined();
    } finally {
      await narrow.close();
    }
    const after = await own.snapshot();
    expect(after.previousVersion).toBe(ownBefore.currentVersion);
    expect(after.currentValue).not.toBe(ownBefore.currentValue);
    expect((await secretData(kc, namespace, secretName))['value']).toBe(after.currentValue);
    await core.deleteNamespacedSecret({ namespace, name: secretName });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteNamespacedRoleBinding({ namespace, name: `rotor-${playbook.spec.secret.name}` });
    await rbac.deleteNamespacedRole({ namespace, name: `rotor-${playbook.spec.secret.name}` });
  });
});

describe('the "nothing changed" comparison', () => {
  it('reports a deliberate change to each victim, and only that victim', async () => {
    const core = (context: string) => kubeconfigFor(context).makeApiClient(CoreV1Api);
    const patchSecret = (s: typeof ordersSecret) =>
      core(s.context).patchNamespacedSecret(
        { name: s.name, namespace: s.namespace, body: { stringData: { value: secretValue() } } },
        mergePatch,
      );
    let deactivated: { AccessKeyId?: string; Status?: string } | undefined;
    // Each made out of band, as another writer would; none goes through rotor.
    const changes: Record<string, () => Promise<unknown>> = {
      [victim.ownEntry]: () => vault.write(`secret/data/${vaultPathOf(own)}`, { data: { value: secretValue() } }),
      [victim.ordersEntry]: () =>
        vault.write(`secret/data/${vaultPathOf(ordersVault)}`, { data: { value: secretValue() } }),
      [victim.ordersSecretsManager]: () =>
        sm.send(new PutSecretValueCommand({ SecretId: awsIdOf(ordersAws), SecretString: secretValue() })),
      [victim.ordersIam]: async () => {
        const [key] = (await iam.send(new ListAccessKeysCommand({ UserName: ordersIamUser }))).AccessKeyMetadata ?? [];
        deactivated = key;
        const status = key?.Status === 'Active' ? 'Inactive' : 'Active';
        await iam.send(
          new UpdateAccessKeyCommand({ UserName: ordersIamUser, AccessKeyId: key?.AccessKeyId, Status: status }),
        );
      },
      [victim.ordersRoles]: () =>
        withPgAdmin((c) => c.query(`ALTER ROLE orders_a PASSWORD ${pg.escapeLiteral(secretValue())}`)),
      [victim.ordersRedis]: () => withRedisAdmin((r) => r.call('ACL', 'SETUSER', ordersRedisUser, `>${secretValue()}`)),
      [victim.ordersSecret]: () => patchSecret(ordersSecret),
      [victim.systemSecret]: () => patchSecret(systemSecret),
      [victim.reportingRole]: () => vault.write(`database/rotate-role/${reporting.role}`, {}),
      [victim.ordersJwks]: () =>
        core(ordersJwks.context).patchNamespacedConfigMap(
          { name: ordersJwks.name, namespace: ordersJwks.namespace, body: { data: { 'jwks.json': '{"keys":[]}' } } },
          mergePatch,
        ),
      [victim.ordersDynamic]: () => vault.read(`database/creds/${ordersDynamic.role}`),
      [victim.otherAccountSecret]: () =>
        otherSm.send(new PutSecretValueCommand({ SecretId: otherAccountArn, SecretString: secretValue() })),
    };
    expect(Object.keys(changes).sort()).toEqual(Object.keys(victims).sort());
    try {
      expect(await reportedChanges(victims, changes)).toEqual(
        Object.keys(changes).map((name) => ({ changed: name, reported: [name] })),
      );
    } finally {
      // The orders team's key goes back to how it was.
      if (deactivated?.AccessKeyId)
        await iam.send(
          new UpdateAccessKeyCommand({
            UserName: ordersIamUser,
            AccessKeyId: deactivated.AccessKeyId,
            Status: deactivated.Status as 'Active' | 'Inactive',
          }),
        );
    }
  });
});
