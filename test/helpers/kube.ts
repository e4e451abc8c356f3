import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig, V1PodTemplateSpec } from '@kubernetes/client-node';
import { nodeImages } from '../../dev/local-stack/config';
import { statusOf } from '../../dev/local-stack/kube-clients';

// The stack's clients live in dev/local-stack (the stack's own services use them too).
export { clusterCaPem, kubeconfigFor, stackKubeconfig, statusOf } from '../../dev/local-stack/kube-clients';

/**
 * A pod template that runs on the stack's nodes: the locally built tools image (never pulled),
 * a container that sleeps and exits at once on SIGTERM, so rollouts and deletions are quick.
 */
export function sleeperTemplate(labels: Record<string, string>): V1PodTemplateSpec {
  return {
    metadata: { labels },
    spec: {
      terminationGracePeriodSeconds: 5,
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'app',
          image: nodeImages.tools,
          imagePullPolicy: 'Never',
          command: ['/bin/sh', '-c', 'trap "exit 0" TERM; sleep 86400 & wait'],
        },
      ],
    },
  };
}

/** A Secret's data, decoded (compare values in tests; never print them). */
export async function secretData(kc: KubeConfig, namespace: string, name: string): Promise<Record<string, string>> {
  const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  return Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/** Creates a uniquely named namespace; returns its name. */
export async function freshNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/**
 * Makes sure a tenant namespace of the test policies (`payments`, `orders`) exists, and leaves it:
 * files that run side by side share these, so none may delete one from under another. Waits out a
 * namespace still terminating from an earlier run. Tests remove what they put in it.
 */
export async function ensureSharedNamespace(kc: KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ns = await core.readNamespace({ name }).catch((e: unknown) => {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    });
    if (ns && ns.status?.phase !== 'Terminating') return;
    if (!ns) {
      const created = await statusOf(core.createNamespace({ body: { metadata: { name } } }));
      if (created === 200 || created === 409) continue;
      throw new Error(`namespace ${name}: create answered ${created}`);
    }
    if (Date.now() > deadline) throw new Error(`namespace ${name} still terminating after 90 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const esGroup = { group: 'external-secrets.io', version: 'v1', plural: 'externalsecrets' };

/**
 * Deletes a namespace and what the tests put in it: ExternalSecrets first (ESO drops its finalizer;
 * a test strips it if ESO is not running), then Secrets, then the namespace, which the
 * controller-manager empties (the kubelet stops its pods). Only a namespace still terminating after
 * 60 s has its pods force-deleted and its finalizer removed, so no test hangs on it.
 */
export async function purgeNamespace(kc: KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const list = (await custom.listNamespacedCustomObject({ ...esGroup, namespace }).catch(() => ({ items: [] }))) as {
    items: { metadata: { name: string } }[];
  };
  for (const es of list.items) {
    await custom.deleteNamespacedCustomObject({ ...esGroup, namespace, name: es.metadata.name }).catch(() => undefined);
  }
  const deadline = Date.now() + 5000;
  for (const es of list.items) {
    while (
      (await statusOf(custom.getNamespacedCustomObject({ ...esGroup, namespace, name: es.metadata.name }))) === 200
    ) {
      if (Date.now() > deadline) {
        await custom
          .patchNamespacedCustomObject(
            { ...esGroup, namespace, name: es.metadata.name, body: { metadata: { finalizers: null } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          )
          .catch(() => undefined);
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await core.deleteCollectionNamespacedSecret({ namespace }).catch(() => undefined);
  if ((await statusOf(core.deleteNamespace({ name: namespace }))) === 404) return;
  const gone = Date.now() + 60_000;
  while (Date.now() < gone) {
    if ((await statusOf(core.readNamespace({ name: namespace }))) === 404) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
  const ns = await core.readNamespace({ name: namespace });
  await core.replaceNamespaceFinalize({ name: namespace, body: { ...ns, spec: { finalizers: [] } } });
}

/** Creates an ExternalSecret reading one store entry into `targetSecret`, as a team would before rotor. */
export async function createExternalSecret(
  kc: KubeConfig,
  namespace: string,
  o: {
    name: string;
    targetSecret: string;
    clusterStore: 'aws' | 'vault';
    remoteKey: string;
    property?: string;
    secretKey?: string;
  },
): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...esGroup,
    namespace,
    body: {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: o.name },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: o.clusterStore },
        target: { name: o.targetSecret },
        data: [
          {
            secretKey: o.secretKey ?? 'value',
            remoteRef: { key: o.remoteKey, ...(o.property ? { property: o.property } : {}) },
          },
        ],
      },
    },
  });
}
