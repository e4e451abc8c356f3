/** Reads which pods consume a cluster's Secret (pod specs and ReplicaSet owners only, never values). */
import type { V1Pod } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { clusterConsumers, consumersShownPerCluster, findConsumers, unrolledRestartOnly } from '../../core/consumers';
import type { ClusterConsumers, PodConsumer } from '../../core/consumers';
import type { ClusterTarget } from '../../core/playbook/schema';
import type { KubeClients } from './clients';
import { contextOf, whereOf } from './clients';
import { kubeFailure } from './errors';
import { fleetLists } from './fleet-lists';
import type { FleetLists } from './fleet-lists';
import { mountsConfigMap } from '../../core/verifiers';

type Where = Pick<ClusterTarget, 'name' | 'context' | 'namespace' | 'secretName'>;

/** The pods in the cluster's namespace that read its Secret, how, and their owning workloads. */
export async function listConsumers(kube: KubeClients, cluster: Where, lists?: FleetLists): Promise<PodConsumer[]> {
  return (await listConsumerPods(kube, cluster, lists)).map((c) => c.consumer);
}

/** One list through `lists` (or a fleet of none: one request), a refusal made a permanent error naming what to grant. */
function lister(kube: KubeClients, cluster: Where, lists?: FleetLists) {
  const context = contextOf(cluster);
  const { namespace } = cluster;
  // Without shared lists, a fleet of none: every list is one request in this namespace.
  const source = lists ?? fleetLists((c) => kube.forContext(c), []);
  // A refusal (the identity may not list here) is permanent and says what to grant, like every
  // other Kubernetes call; the raw client error carried the response's headers and was retried.
  return <R extends 'pods' | 'replicaSets'>(resource: R) =>
    source.list(resource, context, namespace).catch((e: unknown) => {
      throw kubeFailure(e, whereOf(cluster), 'list', `${resource.toLowerCase()} in namespace ${namespace}`);
    });
}

/**
 * As `listConsumers`, each with its pod object (for its uid, annotations and state). With `lists`,
 * pods and ReplicaSets come from the fleet's shared lists (see fleet-lists.ts).
 */
export async function listConsumerPods(
  kube: KubeClients,
  cluster: Where,
  lists?: FleetLists,
): Promise<{ pod: V1Pod; consumer: PodConsumer }[]> {
  const list = lister(kube, cluster, lists);
  const [pods, replicaSets] = await Promise.all([list('pods'), list('replicaSets')]);
  const deploymentOf = new Map(
    replicaSets.flatMap((rs) => {
      const d = rs.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment');
      return d && rs.metadata?.name ? [[rs.metadata.name, d.name] as const] : [];
    }),
  );
  const byName = new Map(pods.map((p) => [p.metadata?.name ?? '', p]));
  return findConsumers(pods, cluster.secretName, deploymentOf).flatMap((consumer) => {
    const pod = byName.get(consumer.pod);
    return pod ? [{ pod, consumer }] : [];
  });
}

/** The pods in the cluster's namespace that mount JWKS ConfigMap `configMap` (the verifiers), sorted by name. */
export async function listVerifierPods(
  kube: KubeClients,
  cluster: Where,
  configMap: string,
  lists?: FleetLists,
): Promise<V1Pod[]> {
  const pods = await lister(kube, cluster, lists)('pods');
  return pods
    .filter((p) => mountsConfigMap(p, configMap))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/**
 * For each cluster, its consumers (for the status) and the restart-only consumers whose workloads
 * it does not list for rollout, as messages naming pod, workload, how it reads the Secret and what
 * to add to the playbook.
 */
export async function planConsumers(
  kube: KubeClients,
  clusters: readonly Pick<ClusterTarget, 'name' | 'context' | 'namespace' | 'secretName' | 'workloads'>[],
  lists?: FleetLists,
): Promise<{ consumers: ClusterConsumers[]; problems: string[] }> {
  // Bounded: a fleet of namespaces on one apiserver would otherwise be listed all at once.
  const limit = pLimit(25);
  const perCluster = await Promise.all(
    clusters.map(async (c) => {
      const where = { cluster: c.name, namespace: c.namespace, secretName: c.secretName };
      const pods = await limit(() => listConsumers(kube, c, lists));
      return { consumers: clusterConsumers(where, pods), problems: unrolledRestartOnly(pods, c.workloads, where) };
    }),
  );
  // Only clusters with consumers, and at fleet scale counts only: the plan's result stays small in history.
  const withPods = perCluster.map((p) => p.consumers).filter((c) => c.total > 0);
  const consumers = withPods.length > consumersShownPerCluster ? withPods.map((c) => ({ ...c, pods: [] })) : withPods;
  return { consumers, problems: perCluster.flatMap((p) => p.problems) };
}
