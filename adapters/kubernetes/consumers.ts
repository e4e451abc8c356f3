/** Reads which pods consume a cluster's Secret (pod specs and ReplicaSet owners only, never values). */
import pLimit from 'p-limit';
import { findConsumers, unrolledRestartOnly } from '../../core/consumers';
import type { PodConsumer } from '../../core/consumers';
import type { ClusterTarget } from '../../core/playbook/schema';
import type { KubeClients } from './clients';
import { contextOf } from './clients';

/** The pods in the cluster's namespace that read its Secret, how, and their owning workloads. */
export async function listConsumers(
  kube: KubeClients,
  cluster: Pick<ClusterTarget, 'name' | 'context' | 'namespace' | 'secretName'>,
): Promise<PodConsumer[]> {
  const { core, apps } = kube.forContext(contextOf(cluster));
  const { namespace, secretName } = cluster;
  const [pods, replicaSets] = await Promise.all([
    core.listNamespacedPod({ namespace }),
    apps.listNamespacedReplicaSet({ namespace }),
  ]);
  const deploymentOf = new Map(
    replicaSets.items.flatMap((rs) => {
      const d = rs.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment');
      return d && rs.metadata?.name ? [[rs.metadata.name, d.name] as const] : [];
    }),
  );
  return findConsumers(pods.items, secretName, deploymentOf);
}

/**
 * For each cluster, the restart-only consumers whose workloads it does not list for rollout, as
 * messages naming pod, workload, how it reads the Secret and what to add to the playbook.
 */
export async function restartOnlyProblems(
  kube: KubeClients,
  clusters: readonly Pick<ClusterTarget, 'name' | 'context' | 'namespace' | 'secretName' | 'workloads'>[],
): Promise<string[]> {
  // Bounded: a fleet of namespaces on one apiserver would otherwise be listed all at once.
  const limit = pLimit(25);
  const perCluster = await Promise.all(
    clusters.map(async (c) =>
      unrolledRestartOnly(await limit(() => listConsumers(kube, c)), c.workloads, {
        cluster: c.name,
        namespace: c.namespace,
        secretName: c.secretName,
      }),
    ),
  );
  return perCluster.flat();
}
