/**
 * Fleet lists on a real apiserver: many target namespaces of one context are answered from one
 * paged LIST across all namespaces per kind, with exactly what a LIST per namespace returns (a real
 * consumer Deployment, a Role and RoleBinding); an identity that may only list inside its own
 * namespaces (the Role `rotor rbac` prints) is refused the wide list and is served per namespace.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClients } from '../../adapters/kubernetes/clients';
import { gateCluster } from '../../adapters/kubernetes/consumer-gate';
import { planConsumers } from '../../adapters/kubernetes/consumers';
import { fleetLists } from '../../adapters/kubernetes/fleet-lists';
import type { FleetLists } from '../../adapters/kubernetes/fleet-lists';
import type { GateInput } from '../../core/gate';
import { kubeconfigFor, sleeperTemplate, stackKubeconfig } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { asGeneratedIdentity } from '../helpers/rbac-identity';
import { useStackEnv } from '../helpers/stack-env';
import { uncheckedGrant } from '../helpers/grants';

useStackEnv();
const context = 'cluster-a';
const admin = kubeconfigFor(context);
const core = admin.makeApiClient(CoreV1Api);
const run = randomBytes(4).toString('hex');
const secretName = 'fleet-secret';
// One more than the default threshold, so the rotation's own lists would go wide here too.
const targets = Array.from({ length: 21 }, (_, i) => ({
  name: `fl-${run}-${i}`,
  context,
  namespace: `fl-${run}-${i}`,
  secretName,
  workloads: [],
}));
const [first, second] = targets as [(typeof targets)[number], (typeof targets)[number]];
const store = { type: 'vault' as const, mount: 'secret', path: `fl/${run}`, key: 'value' };
// Parsed as a playbook's clusters are: the gate and `rotor rbac` take them in that shape.
const playbook = testPlaybook(store, { clusters: targets.map((t) => ({ ...t, delivery: 'push' as const })) });
const kinds = ['pods', 'replicaSets', 'roles', 'roleBindings'] as const;
const limit = pLimit(10);

function listsAs(kc: KubeConfig, pageSize = 5): { lists: FleetLists; kube: ReturnType<typeof createKubeClients> } {
  const kube = createKubeClients(kc);
  return { kube, lists: fleetLists((c) => kube.forContext(c), targets, { pageSize }) };
}

const names = (items: { metadata?: { name?: string } }[]) => items.map((i) => i.metadata?.name ?? '').sort();

/** What one LIST per namespace returns, as the admin sees it. */
async function perNamespace(kind: (typeof kinds)[number], namespace: string): Promise<string[]> {
  const c = createKubeClients(admin).forContext(context);
  const list = {
    pods: () => c.core.listNamespacedPod({ namespace }),
    replicaSets: () => c.apps.listNamespacedReplicaSet({ namespace }),
    roles: () => c.rbac.listNamespacedRole({ namespace }),
    roleBindings: () => c.rbac.listNamespacedRoleBinding({ namespace }),
  }[kind];
  return names((await list()).items);
}

beforeAll(async () => {
  await Promise.all(
    targets.map((t) => limit(() => core.createNamespace({ body: { metadata: { name: t.namespace } } }))),
  );
  // A consumer in the first namespace: a Deployment whose pod mounts the Secret (pod and ReplicaSet
  // made by the controller manager; the pod need not run for a list).
  const template = sleeperTemplate({ app: 'reader' });
  const [container] = template.spec?.containers ?? [];
  if (!container) throw new Error('sleeperTemplate has no container');
  container.volumeMounts = [{ name: 'cred', mountPath: '/var/run/cred' }];
  template.spec = { ...template.spec, containers: [container], volumes: [{ name: 'cred', secret: { secretName } }] };
  await admin.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: first.namespace,
    body: {
      metadata: { name: 'reader' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'reader' } }, template },
    },
  });
  // RBAC objects in the second namespace.
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: second.namespace,
    body: {
      metadata: { name: 'reads-secret' },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secretName], verbs: ['get'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: second.namespace,
    body: {
      metadata: { name: 'reads-secret' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reads-secret' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: second.namespace }],
    },
  });
  const deadline = Date.now() + 60_000;
  while ((await core.listNamespacedPod({ namespace: first.namespace })).items.length < 1) {
    if (Date.now() > deadline) throw new Error('the reader Deployment made no pod within 60 s');
    await new Promise((r) => setTimeout(r, 300));
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(
    targets.map((t) => limit(() => core.deleteNamespace({ name: t.namespace }).catch(() => undefined))),
  );
});

describe('fleet lists', () => {
  it('answer every target namespace from paged lists across all namespaces, exactly as per-namespace lists', async () => {
    const { lists } = listsAs(admin);
    for (const t of targets.slice(0, 3))
      for (const kind of kinds)
        expect(names(await lists.list(kind, context, t.namespace)), `${kind} in ${t.namespace}`).toEqual(
          await perNamespace(kind, t.namespace),
        );
    expect(await lists.list('roles', context, second.namespace)).toHaveLength(1);
    expect(names(await lists.list('pods', context, first.namespace))).toHaveLength(1);
    expect(Object.fromEntries(lists.served)).toEqual(Object.fromEntries(kinds.map((k) => [`${context}/${k}`, 'wide'])));
  });

  it('find the same consumers in the plan as per-namespace lists do', async () => {
    const { kube, lists } = listsAs(admin);
    const wide = await planConsumers(kube, targets, lists);
    const narrow = await planConsumers(kube, targets);
    expect(wide).toEqual(narrow);
    expect(wide.consumers.map((c) => c.namespace)).toEqual([first.namespace]);
    expect(lists.served.get(`${context}/pods`)).toBe('wide');
  });

  it('gate a cluster without consumers from the shared lists', async () => {
    const { kube, lists } = listsAs(admin);
    const cluster = playbook.spec.clusters[1];
    if (!cluster) throw new Error('the playbook lost its clusters');
    const input: GateInput = {
      admission: uncheckedGrant,
      step: 'promote',
      rotation: { workflowId: `fl-${run}`, runId: run },
      versions: {
        store,
        current: { version: '1', fingerprint: 'x' },
        other: null,
        currentKey: 'current',
        otherKey: 'previous',
      },
      clusters: [cluster],
      parallelism: 1,
      settleMs: 0,
      boundMs: 1_000,
    };
    const outcome = await gateCluster(
      kube,
      input,
      cluster,
      { current: { version: '1', value: 'unused' }, other: null },
      new AbortController().signal,
      () => undefined,
      lists,
    );
    expect(outcome).toMatchObject({ ok: true, pods: 0 });
    expect(lists.served.get(`${context}/pods`)).toBe('wide');
  });

  it('fall back to per-namespace lists for an identity that may only list inside its namespaces', async () => {
    const narrow = await asGeneratedIdentity(playbook, { namespace: 'rotor-system', serviceAccount: `fl-${run}` });
    const { lists } = listsAs(narrow);
    expect(names(await lists.list('pods', context, first.namespace))).toEqual(
      await perNamespace('pods', first.namespace),
    );
    expect(names(await lists.list('replicaSets', context, first.namespace))).toEqual(
      await perNamespace('replicaSets', first.namespace),
    );
    expect(lists.served.get(`${context}/pods`)).toMatch(/^per-namespace \(wide list failed: HTTP 403\)$/);
    // The admin's kubeconfig is untouched by the narrow identity.
    expect(stackKubeconfig().getCurrentUser()?.name).not.toContain(`fl-${run}`);
  });
});
