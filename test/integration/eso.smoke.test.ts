/**
 * Smoke test of the External Secrets Operator in the local stack (`dev/stack up eso`
 * first): a value written to Vault KV v2 reaches a Kubernetes Secret in each of the three clusters
 * through an ExternalSecret on the `vault` ClusterSecretStore. It fails (never skips) when the
 * stack is not up. Secret values are only ever compared, never printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import vaultClient from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNames, stackEnv, stackPaths } from '../../dev/local-stack/config';
import type { ClusterName } from '../../dev/local-stack/config';
import { esoApiVersion, storeNames } from '../../dev/local-stack/eso/manifests';
import { eso } from '../../dev/local-stack/services/eso';

const env = stackEnv();
const { VAULT_ADDR: endpoint, VAULT_TOKEN: token, KUBECONFIG: kubeconfigPath } = env;
if (endpoint === undefined || token === undefined || kubeconfigPath === undefined) {
  throw new Error('stackEnv() has no VAULT_ADDR/VAULT_TOKEN/KUBECONFIG');
}

const vault = vaultClient({ apiVersion: 'v1', endpoint, token, requestOptions: { timeout: 10_000 } });

function kubeConfig(context: ClusterName): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath as string);
  kc.setCurrentContext(context);
  return kc;
}
const kube = Object.fromEntries(
  clusterNames.map((c) => {
    const kc = kubeConfig(c);
    return [c, { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) }];
  }),
) as Record<ClusterName, { core: CoreV1Api; custom: CustomObjectsApi }>;

const namespace = 'default';
const name = `rotor-smoke-eso-${randomBytes(4).toString('hex')}`;
const vaultKey = `smoke/eso-${randomUUID()}`;
const value = randomBytes(24).toString('base64url');
const externalSecret = {
  apiVersion: esoApiVersion,
  kind: 'ExternalSecret',
  metadata: { name, namespace },
  spec: {
    refreshInterval: '1h',
    secretStoreRef: { kind: 'ClusterSecretStore', name: storeNames.vault },
    target: { name, creationPolicy: 'Owner' },
    data: [{ secretKey: 'value', remoteRef: { key: vaultKey, property: 'value' } }],
  },
};
const [group = '', version = ''] = esoApiVersion.split('/');
const esRef = { group, version, namespace, plural: 'externalsecrets' };

/** Resolves to undefined when the call fails with 404. */
async function unless404<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw e;
  }
}

/** True once the cluster's target Secret holds exactly the Vault value. */
async function synced(cluster: ClusterName): Promise<boolean> {
  const secret = await unless404(kube[cluster].core.readNamespacedSecret({ name, namespace }));
  const data = secret?.data?.['value'];
  return data !== undefined && Buffer.from(data, 'base64').toString('utf8') === value;
}

/** The ExternalSecret's Ready condition, for failure messages (carries no secret data). */
async function readyCondition(cluster: ClusterName): Promise<string> {
  const obj = (await kube[cluster].custom.getNamespacedCustomObject({ ...esRef, name })) as {
    status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  };
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  return ready ? `Ready=${ready.status} ${ready.reason ?? ''} ${ready.message ?? ''}` : 'no Ready condition';
}

describe('external-secrets (local stack)', () => {
  beforeAll(async () => {
    const reason = await eso.health({ paths: stackPaths(), log: () => undefined });
    if (reason !== undefined) throw new Error(`eso is not healthy (run 'dev/stack up eso'): ${reason}`);
    await vault.write(`secret/data/${vaultKey}`, { data: { value } });
  });

  afterAll(async () => {
    // Best effort: no controller-manager runs, so the owned Secret is not garbage-collected; delete it too.
    for (const cluster of clusterNames) {
      await unless404(kube[cluster].custom.deleteNamespacedCustomObject({ ...esRef, name })).catch(() => undefined);
      await unless404(kube[cluster].core.deleteNamespacedSecret({ name, namespace })).catch(() => undefined);
    }
    await vault.delete(`secret/metadata/${vaultKey}`).catch(() => undefined);
  });

  it('syncs a Vault KV v2 value into a Secret in every cluster', async () => {
    for (const cluster of clusterNames) {
      await kube[cluster].custom.createNamespacedCustomObject({ ...esRef, body: externalSecret });
    }

    const deadline = Date.now() + 60_000;
    let pending: ClusterName[] = [...clusterNames];
    while (pending.length > 0 && Date.now() < deadline) {
      const done = await Promise.all(pending.map(synced));
      pending = pending.filter((_, i) => !done[i]);
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 500));
    }

    const stuck = await Promise.all(
      pending.map(async (c) => `${c}: ${await readyCondition(c).catch((e: unknown) => String(e))}`),
    );
    // Compare cluster names only, so a failure never prints the value.
    expect(stuck).toEqual([]);
  }, 90_000);
});
