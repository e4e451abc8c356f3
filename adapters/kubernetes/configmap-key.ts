/**
 * One data key of a ConfigMap per cluster target (a JWKS, a trust bundle), read and changed
 * through each cluster's apiserver. Changes are read-modify-replace with the object's
 * resourceVersion, so a concurrent writer is never overwritten: a conflict reads again.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { JwksTarget } from '../../core/playbook/jwks-targets';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';
import { fieldManager, managedByLabel } from '../../core/ids';
import type { KubeClients } from './clients';
import { whereOf } from './clients';
import { kubeFailure, statusCode } from './errors';

/** Which ConfigMap and data key hold the text. */
export interface ConfigMapKey {
  configMap: string;
  key: string;
}

/** How messages name one target's key: `configmap ns/name key k in cluster a (context x)`. */
export function describeConfigMapKey(t: JwksTarget, at: ConfigMapKey): string {
  return `configmap ${t.namespace}/${at.configMap} key ${at.key} in ${whereOf({ name: t.cluster, context: t.context })}`;
}

/**
 * Reads one target's ConfigMap through its apiserver: `absent` when the ConfigMap does not exist,
 * else the key's text (undefined when the key is missing).
 */
export async function readConfigMapKey(
  kube: KubeClients,
  t: JwksTarget,
  at: ConfigMapKey,
): Promise<{ exists: false } | { exists: true; text: string | undefined }> {
  const { core } = kube.forContext(t.context);
  try {
    const cm = await core.readNamespacedConfigMap({ name: at.configMap, namespace: t.namespace });
    return { exists: true, text: cm.data?.[at.key] };
  } catch (e) {
    if (statusCode(e) === 404) return { exists: false };
    throw kubeFailure(
      e,
      whereOf({ name: t.cluster, context: t.context }),
      'get',
      `configmap ${t.namespace}/${at.configMap}`,
    );
  }
}

/** What `updateConfigMapKey` did to one target. */
export type ConfigMapChange = 'created' | 'updated' | 'unchanged' | 'absent';

const attempts = 5;

/**
 * Applies `change` to one target's key (`change(undefined)` for a missing key or ConfigMap). A
 * missing ConfigMap is created (labelled managed by rotor) when `create`, else left absent; a
 * missing namespace fails DeliveryMisconfigured when creating (rotor does not create namespaces)
 * and is `absent` otherwise. Each write carries the resourceVersion read, so a concurrent change is
 * read again, up to 5 times, then retried later. `what` names the content in the conflict message.
 */
export async function updateConfigMapKey(
  kube: KubeClients,
  t: JwksTarget,
  at: ConfigMapKey,
  change: (text: string | undefined) => string,
  o: { create: boolean; what: string },
): Promise<ConfigMapChange> {
  const { core } = kube.forContext(t.context);
  const where = whereOf({ name: t.cluster, context: t.context });
  const resource = `configmap ${t.namespace}/${at.configMap}`;
  const { namespace } = t;
  const name = at.configMap;
  for (let i = 0; i < attempts; i++) {
    let cm: V1ConfigMap | undefined;
    try {
      cm = await core.readNamespacedConfigMap({ name, namespace });
    } catch (e) {
      if (statusCode(e) !== 404) throw kubeFailure(e, where, 'get', resource);
    }
    if (!cm) {
      if (!o.create) return 'absent';
      const body: V1ConfigMap = {
        metadata: { name, namespace, labels: { ...managedByLabel } },
        data: { [at.key]: change(undefined) },
      };
      try {
        await core.createNamespacedConfigMap({ namespace, body, fieldManager });
        return 'created';
      } catch (e) {
        if (statusCode(e) === 409) continue; // created meanwhile: read it and change that
        if (statusCode(e) === 404)
          throw permanent(
            ErrorTypes.deliveryMisconfigured,
            `${where}: namespace ${namespace} does not exist; create it (rotor does not create namespaces) or fix clusters[].namespace`,
          );
        throw kubeFailure(e, where, 'create', resource);
      }
    }
    const before = cm.data?.[at.key];
    const after = change(before);
    if (before !== undefined && after === before) return 'unchanged';
    const body: V1ConfigMap = { ...cm, data: { ...cm.data, [at.key]: after } };
    try {
      await core.replaceNamespacedConfigMap({ name, namespace, body, fieldManager });
      return 'updated';
    } catch (e) {
      // 409: changed since it was read (the resourceVersion no longer matches); 404: deleted meanwhile.
      if (statusCode(e) === 409 || statusCode(e) === 404) continue;
      throw kubeFailure(e, where, 'update', resource);
    }
  }
  throw retryable(
    RetryableErrorTypes.kubernetesConflict,
    `${where}: ${resource} kept changing while rotor updated its ${o.what} (${attempts} attempts); retrying`,
  );
}
