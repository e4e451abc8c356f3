/**
 * Issue 11's abuses, end to end: a real worker with real activities under the example two-team
 * policy (dev/policy/two-teams.yaml), against the stack's Vault, moto, PostgreSQL and clusters.
 * A playbook of the payments team tries to reach what only the orders team, or nobody, may touch.
 * Each is refused at plan with the field and the rule, and the store, the victim's store, the
 * clusters and the database are as they were. The happy path still rotates under the same policy,
 * as the narrowest Kubernetes identity that works: the one `rotor rbac` prints.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { WorkflowErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook, PlaybookInput, Store } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { kubeconfigFor, secretData, statusOf } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { withPgAdmin } from '../helpers/postgres';
import { asGeneratedIdentity } from '../helpers/rbac-identity';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore, vaultTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const playbookFile = 'playbooks/payments/abuse.yaml';
const requestedBy = 'alice@laptop';
let tw: TestWorker;
/** The payments team's own secret: the playbooks below may name it, so none may rotate it. */
let own: TestStore;
/** What the orders team owns, in both stores. */
let ordersVault: TestStore;
let ordersAws: TestStore;
const before = new Map<TestStore, StoreSnapshot>();

const cluster = (context: string, namespace: string, secretName: string) => ({
  name: context,
  context,
  delivery: 'push' as const,
  namespace,
  secretName,
});

beforeAll(async () => {
  const env = useStackEnv();
  tw = await startTestWorker(createActivities(depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' })));
  own = await vaultTestStore(randomBytes(16).toString('hex'), undefined, 'apps/payments/');
  ordersVault = await vaultTestStore(randomBytes(16).toString('hex'), undefined, 'apps/orders/');
  ordersAws = await awsTestStore(randomBytes(16).toString('hex'), undefined, 'orders/');
  for (const s of [own, ordersVault, ordersAws]) before.set(s, await s.snapshot());
});

afterAll(async () => {
  await tw?.close();
});

async function refusal(playbook: Playbook): Promise<ApplicationFailure> {
  const h = await tw.client.workflow.start('rotationWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: rotationWorkflowId(playbook.spec.secret.name),
    args: [{ playbook, playbookFile, trigger: 'manual', requestedBy }],
  });
  const out = await tw.run(() => outcomeOf(h));
  if (out.ok) throw new Error(`${playbook.spec.secret.name} was rotated although the policy forbids it`);
  const cause = (out.error as WorkflowFailedError).cause;
  if (!(cause instanceof ApplicationFailure)) throw out.error;
  return cause;
}

async function expectUnchanged(...stores: TestStore[]): Promise<void> {
  for (const s of stores) {
    expect(await s.snapshot()).toEqual(before.get(s));
  }
}

type Spec = Partial<PlaybookInput['spec']>;
const abuses: { abuse: string; store?: () => Store; spec?: Spec; path: string; rule: string }[] = [
  {
    abuse: "points secret.store at the other team's Vault path",
    store: () => ordersVault.store,
    path: 'spec.secret.store.path',
    rule: 'tenants[payments].allow.vault',
  },
  {
    abuse: "points secret.store at the other team's Secrets Manager secret",
    store: () => ordersAws.store,
    path: 'spec.secret.store.secretId',
    rule: 'tenants[payments].allow.aws',
  },
  {
    abuse: 'delivers into a context its tenant may not use',
    spec: { clusters: [cluster('cluster-c', 'payments', 'stolen')] },
    path: 'spec.clusters[0].context',
    rule: 'tenants[payments].allow.clusters',
  },
  {
    abuse: 'delivers into another namespace of an allowed context',
    spec: { clusters: [cluster('cluster-a', 'kube-system', 'stolen')] },
    path: 'spec.clusters[0].namespace',
    rule: 'tenants[payments].allow.clusters',
  },
  {
    abuse: "names the other team's PostgreSQL roles",
    spec: { credential: { kind: 'postgres-alternating-users', roles: ['orders_a', 'orders_b'], database: 'rotor' } },
    path: 'spec.credential.roles[0]',
    rule: 'tenants[payments].allow.postgres',
  },
  {
    abuse: 'sends the admin database credentials to a server of its choice',
    spec: {
      credential: {
        kind: 'postgres-alternating-users',
        roles: ['payments_a', 'payments_b'],
        database: 'rotor',
        host: '203.0.113.7',
      },
    },
    path: 'spec.credential.host',
    rule: 'databaseServers',
  },
  {
    abuse: "rotates the other team's IAM user's keys",
    spec: { credential: { kind: 'aws-iam-access-key', userName: 'orders-ci', revoke: 'delete' } },
    path: 'spec.credential.userName',
    rule: 'tenants[payments].allow.iamUsers',
  },
  {
    abuse: 'rotates a Vault database role outside its tenant',
    spec: {
      credential: {
        kind: 'vault-database-static-role',
        mount: 'database',
        role: 'reporting',
        connection: 'reporting-db',
      },
    },
    path: 'spec.credential.role',
    rule: 'tenants[payments].allow.vaultDatabase',
  },
  {
    abuse: "runs a command on the worker (with the worker's environment)",
    spec: { canaries: [{ type: 'command', name: 'env', command: ['/usr/bin/env'] }] },
    path: 'spec.canaries[0].type',
    rule: 'tenants[payments].allow.canaries.command',
  },
  {
    abuse: 'sends an http canary to the cloud metadata address',
    spec: { canaries: [{ type: 'http', name: 'imds', url: 'http://169.254.169.254/latest/meta-data/' }] },
    path: 'spec.canaries[0].url',
    rule: 'tenants[payments].allow.canaries.http',
  },
  {
    abuse: 'runs a kubernetes-job canary with an image of its choice',
    spec: {
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
    },
    path: 'spec.canaries[0].image',
    rule: 'tenants[payments].allow.canaries.kubernetesJob.images',
  },
  {
    abuse: 'sends a postgres-login canary to a server of its choice',
    spec: { canaries: [{ type: 'postgres-login', name: 'login', host: '203.0.113.7' }] },
    path: 'spec.canaries[0].host',
    rule: 'tenants[payments].allow.canaries.postgresLogin',
  },
];

describe('a playbook cannot make rotor its deputy', () => {
  it.each(abuses)('refused before any change when it $abuse', async ({ store, spec, path, rule }) => {
    const failure = await refusal(testPlaybook(store ? store() : own.store, spec));
    expect(failure.type).toBe(WorkflowErrorTypes.policyRefused);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('refused by the rotor policy, nothing was changed');
    expect(failure.message).toContain(`${path}: `);
    expect(failure.message).toContain(`policy rule ${rule}`);
    await expectUnchanged(own, ordersVault, ordersAws);
  });

  it('leaves the clusters, the database roles and the IAM user as they were', async () => {
    const kc = kubeconfigFor('cluster-c');
    expect(
      await statusOf(kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: 'payments', name: 'stolen' })),
    ).toBe(404);
    expect(
      await withPgAdmin((c) => c.query("select 1 from pg_roles where rolname in ('orders_a', 'orders_b')")),
    ).toMatchObject({ rowCount: 0 });
    const iam = new IAMClient({});
    await iam.send(new CreateUserCommand({ UserName: 'orders-ci' })).catch(() => undefined);
    expect((await iam.send(new ListAccessKeysCommand({ UserName: 'orders-ci' }))).AccessKeyMetadata ?? []).toEqual([]);
  });
});

describe('under the same policy, what it allows', () => {
  const namespace = 'payments';
  let createdNamespace = false;
  const kc = kubeconfigFor('cluster-a');
  const core = kc.makeApiClient(CoreV1Api);

  beforeAll(async () => {
    if ((await statusOf(core.readNamespace({ name: namespace }))) === 404) {
      await core.createNamespace({ body: { metadata: { name: namespace } } });
      createdNamespace = true;
    }
  });
  afterAll(async () => {
    if (createdNamespace) await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it("rotates the team's own secret into its own namespace, as exactly the identity `rotor rbac` prints", async () => {
    const secretName = `ok-${randomUUID().slice(0, 8)}`;
    const playbook = testPlaybook(own.store, { clusters: [cluster('cluster-a', namespace, secretName)] });
    // The narrowest access: the admin policy admits the playbook, the generated Role lets it work.
    const restricted = await asGeneratedIdentity(playbook, { serviceAccount: 'rotor', namespace: 'rotor-system' });
    const env = useStackEnv();
    const narrow = await startTestWorker(
      createActivities({
        ...depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' }),
        kubeconfig: restricted,
      }),
    );
    try {
      const h = await narrow.client.workflow.start('rotationWorkflow', {
        taskQueue: narrow.taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [{ playbook, playbookFile, trigger: 'manual', requestedBy }],
      });
      const out = await narrow.run(() => outcomeOf(h));
      expect(out.ok ? undefined : out.error.cause).toBeUndefined();
    } finally {
      await narrow.close();
    }
    const after = await own.snapshot();
    expect(after.previousVersion).toBe(before.get(own)?.currentVersion);
    expect(after.currentValue).not.toBe(before.get(own)?.currentValue);
    expect((await secretData(kc, namespace, secretName))['value']).toBe(after.currentValue);
    await core.deleteNamespacedSecret({ namespace, name: secretName });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteNamespacedRoleBinding({ namespace, name: `rotor-${playbook.spec.secret.name}` });
    await rbac.deleteNamespacedRole({ namespace, name: `rotor-${playbook.spec.secret.name}` });
  });
});
