/** Clients of the local stack's clusters, as rotor's own clients reach them (the stack's kubeconfig). */
import { readFileSync } from 'node:fs';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { useStackEnv } from './stack-env';

/** The local stack's kubeconfig (contexts cluster-a/b/c), as the worker loads it. */
export function stackKubeconfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(useStackEnv()['KUBECONFIG'] ?? '');
  return kc;
}

/** A KubeConfig whose current context is `context`. */
export function kubeconfigFor(context: string, base: KubeConfig = stackKubeconfig()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: base.clusters, users: base.users, contexts: base.contexts, currentContext: context });
  return kc;
}

/** The CA (PEM) that signed the current cluster's apiserver certificate: the stack's cluster CA. */
export function clusterCaPem(kc: KubeConfig): string {
  const cluster = kc.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  return readFileSync(cluster?.caFile ?? '', 'utf8');
}

/** The HTTP status an API call fails with, or 200 when it succeeds. */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (e) {
    if (e instanceof ApiException) return e.code;
    throw e;
  }
}

/**
 * Creates an object, or replaces it when it exists (409), so a second `dev/stack up` changes
 * nothing or brings the object back to what it should be.
 */
export async function createOrReplace(create: () => Promise<unknown>, replace: () => Promise<unknown>): Promise<void> {
  if ((await statusOf(create())) === 409) await replace();
}
