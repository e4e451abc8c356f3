/** Rollouts of the workloads that consume a cluster's Secret, once per rotation, watched until complete. */
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { ClusterInput } from '../../core/contracts';
import { rolloutAnnotation } from '../../core/ids';
import type { KubeClients } from './clients';
import { contextOf, whereOf } from './clients';
import { kubeFailure } from './errors';
import { mergePatch } from './patch';
import { waitForObject } from './watch';
import type { WatchRestart } from './watch';

/**
 * Whether a Deployment/StatefulSet finished rolling out its current spec: the controller observed
 * the latest generation and every desired replica is updated and available (zero replicas counts).
 */
export function rolloutState(obj: V1Deployment | V1StatefulSet | undefined): { complete: boolean; summary: string } {
  if (!obj) return { complete: false, summary: 'does not exist' };
  const desired = obj.spec?.replicas ?? 1;
  const st = obj.status;
  const observed = (st?.observedGeneration ?? 0) >= (obj.metadata?.generation ?? 1);
  const updated = st?.updatedReplicas ?? 0;
  const available = st?.availableReplicas ?? 0;
  const total = st?.replicas ?? 0;
  const revisionsMatch =
    !('currentRevision' in (st ?? {})) ||
    (st as { currentRevision?: string; updateRevision?: string }).currentRevision ===
      (st as { updateRevision?: string }).updateRevision ||
    desired === 0;
  const complete = observed && updated === desired && available === desired && total === desired && revisionsMatch;
  return {
    complete,
    summary: `${observed ? '' : 'generation not yet observed, '}${updated}/${desired} updated, ${available}/${desired} available`,
  };
}

/**
 * Rolls out each listed workload once per token (pod-template annotation, merge patch: an equal
 * token is a no-op, so retries never restart pods twice) and waits until every rollout is
 * complete and available, watching each workload by name.
 */
export async function rollOut(
  kube: KubeClients,
  input: ClusterInput,
  token: string,
  signal: AbortSignal,
  onRestart: (r: WatchRestart) => void,
  note: (workload: string, state: string) => void,
): Promise<string[]> {
  const { cluster } = input;
  const { kc, apps } = kube.forContext(contextOf(cluster));
  const namespace = cluster.namespace;
  const patch = { spec: { template: { metadata: { annotations: { [rolloutAnnotation]: token } } } } };
  const done: string[] = [];
  await Promise.all(
    cluster.workloads.map(async (w) => {
      const id = `${w.kind}/${w.name}`;
      const isDeployment = w.kind === 'Deployment';
      try {
        if (isDeployment) await apps.patchNamespacedDeployment({ name: w.name, namespace, body: patch }, mergePatch);
        else await apps.patchNamespacedStatefulSet({ name: w.name, namespace, body: patch }, mergePatch);
      } catch (e) {
        throw kubeFailure(
          e,
          whereOf(cluster),
          'patch',
          `${isDeployment ? 'deployments' : 'statefulsets'} ${namespace}/${w.name}`,
        );
      }
      await waitForObject<V1Deployment | V1StatefulSet, true>(
        {
          kubeconfig: kc,
          path: `/apis/apps/v1/namespaces/${namespace}/${isDeployment ? 'deployments' : 'statefulsets'}`,
          name: w.name,
          list: async () => {
            const obj = isDeployment
              ? await apps.readNamespacedDeployment({ name: w.name, namespace })
              : await apps.readNamespacedStatefulSet({ name: w.name, namespace });
            return { items: [obj], metadata: { resourceVersion: obj.metadata?.resourceVersion } };
          },
        },
        (obj) => {
          const state = rolloutState(obj);
          note(id, `${id}: ${state.summary}`);
          return state.complete ? true : undefined;
        },
        { signal, onRestart },
      );
      done.push(id);
    }),
  );
  return done.sort();
}
