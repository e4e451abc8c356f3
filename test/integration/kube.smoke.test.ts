/**
 * Smoke test of the local Kubernetes clusters (`dev/stack up kube` first): each of the
 * three contexts stores and serves namespaces, issues ServiceAccount tokens through the
 * TokenRequest API, and the three clusters share nothing but the etcd process.
 */
import { randomBytes } from 'node:crypto';
import { AuthenticationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterNames, stackEnv } from '../../dev/local-stack/config';
import type { ClusterName } from '../../dev/local-stack/config';
import { statusOf } from '../helpers/kube';

const kubeconfigPath = stackEnv().KUBECONFIG;
if (kubeconfigPath === undefined) throw new Error('stackEnv() has no KUBECONFIG');

function kubeConfig(context: ClusterName): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath as string);
  kc.setCurrentContext(context);
  return kc;
}

const core = Object.fromEntries(clusterNames.map((c) => [c, kubeConfig(c).makeApiClient(CoreV1Api)])) as Record<
  ClusterName,
  CoreV1Api
>;
const authn = Object.fromEntries(
  clusterNames.map((c) => [c, kubeConfig(c).makeApiClient(AuthenticationV1Api)]),
) as Record<ClusterName, AuthenticationV1Api>;

/**
 * Deletes a namespace for good. Without a controller-manager nothing empties and finalizes a
 * Terminating namespace, so the test removes its `kubernetes` finalizer itself, which lets the
 * API server drop it (the namespace must already be empty: nothing deletes its contents).
 */
async function purgeNamespace(api: CoreV1Api, name: string): Promise<void> {
  if ((await statusOf(api.deleteNamespace({ name }))) === 404) return;
  const ns = await api.readNamespace({ name });
  await api.replaceNamespaceFinalize({ name, body: { ...ns, spec: { finalizers: [] } } });
}

const suffix = randomBytes(4).toString('hex');
const shared = `rotor-smoke-${suffix}`;
const onlyInA = `rotor-smoke-a-${suffix}`;
const created: [ClusterName, string][] = [];

afterAll(async () => {
  for (const [cluster, name] of created) await purgeNamespace(core[cluster], name).catch(() => undefined);
});

describe('local kube clusters', () => {
  it.each(clusterNames)('%s creates, reads back and deletes a namespace', async (cluster) => {
    const api = core[cluster];
    const made = await api.createNamespace({
      body: { metadata: { name: shared, labels: { 'rotor.dev/cluster': cluster } } },
    });
    created.push([cluster, shared]);
    const read = await api.readNamespace({ name: shared });
    expect(read.metadata?.uid).toBe(made.metadata?.uid);
    expect(read.metadata?.labels?.['rotor.dev/cluster']).toBe(cluster);
    expect(read.status?.phase).toBe('Active');
  });

  it('keeps the three clusters apart', async () => {
    await core['cluster-a'].createNamespace({ body: { metadata: { name: onlyInA } } });
    created.push(['cluster-a', onlyInA]);
    expect(await statusOf(core['cluster-a'].readNamespace({ name: onlyInA }))).toBe(200);
    expect(await statusOf(core['cluster-b'].readNamespace({ name: onlyInA }))).toBe(404);
    expect(await statusOf(core['cluster-c'].readNamespace({ name: onlyInA }))).toBe(404);
    // The same name in each cluster is three different objects.
    const uids = await Promise.all(
      clusterNames.map(async (c) => (await core[c].readNamespace({ name: shared })).metadata?.uid),
    );
    expect(new Set(uids).size).toBe(3);
  });

  it.each(clusterNames)('%s issues ServiceAccount tokens through the TokenRequest API', async (cluster) => {
    const sa = 'rotor-smoke';
    await core[cluster].createNamespacedServiceAccount({ namespace: shared, body: { metadata: { name: sa } } });
    const tr = await core[cluster].createNamespacedServiceAccountToken({
      name: sa,
      namespace: shared,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tr.status?.token ?? '';
    expect(token).toBeTruthy();
    const review = await authn[cluster].createTokenReview({ body: { spec: { token } } });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${shared}:${sa}`);
    // Each cluster signs with its own key: another cluster rejects the token.
    const other = clusterNames.find((c) => c !== cluster) ?? cluster;
    const foreign = await authn[other].createTokenReview({ body: { spec: { token } } });
    expect(foreign.status?.authenticated).not.toBe(true);
    await core[cluster].deleteNamespacedServiceAccount({ name: sa, namespace: shared });
  });

  it.each(clusterNames)('%s deletes the namespace', async (cluster) => {
    const api = core[cluster];
    expect(await statusOf(api.deleteNamespace({ name: shared }))).toBe(200);
    expect((await api.readNamespace({ name: shared })).status?.phase).toBe('Terminating');
    await purgeNamespace(api, shared);
    expect(await statusOf(api.readNamespace({ name: shared }))).toBe(404);
  });
});
