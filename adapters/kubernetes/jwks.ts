/**
 * JWKS ConfigMaps: the public keys of a `jwt-signing-key`, one ConfigMap per cluster target, read
 * and changed through each cluster's apiserver. Changes are read-modify-replace with the object's
 * resourceVersion, so a concurrent writer is never overwritten: a conflict reads again.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { JwksTarget } from '../../core/playbook/jwks-targets';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';
import { fieldManager, managedByLabel } from '../../core/ids';
import { parseJwks } from '../credentials/jwk';
import type { Jwks } from '../credentials/jwk';
import type { KubeClients } from './clients';
import { whereOf } from './clients';
import { kubeFailure, statusCode } from './errors';

/** Which ConfigMap and data key hold the JWKS (the playbook's `jwks`). */
export interface JwksLocation {
  configMap: string;
  key: string;
}

/** How messages name one target's JWKS: `configmap ns/name key k in cluster a (context x)`. */
export function describeJwks(t: JwksTarget, at: JwksLocation): string {
  return `configmap ${t.namespace}/${at.configMap} key ${at.key} in ${whereOf({ name: t.cluster, context: t.context })}`;
}

/** The JWKS a ConfigMap holds; an empty one when the key is missing. */
function jwksIn(cm: V1ConfigMap, t: JwksTarget, at: JwksLocation): Jwks {
  const text = cm.data?.[at.key];
  return text === undefined ? { keys: [] } : parseJwks(text, describeJwks(t, at));
}

/** Reads one target's JWKS through its apiserver; undefined when the ConfigMap does not exist. */
export async function readJwks(kube: KubeClients, t: JwksTarget, at: JwksLocation): Promise<Jwks | undefined> {
  const { core } = kube.forContext(t.context);
  try {
    return jwksIn(await core.readNamespacedConfigMap({ name: at.configMap, namespace: t.namespace }), t, at);
  } catch (e) {
    if (statusCode(e) === 404) return undefined;
    throw kubeFailure(
      e,
      whereOf({ name: t.cluster, context: t.context }),
      'get',
      `configmap ${t.namespace}/${at.configMap}`,
    );
  }
}

/** What `updateJwks` did to one target. */
export type JwksChange = 'created' | 'updated' | 'unchanged' | 'absent';

const attempts = 5;
const serialize = (jwks: Jwks) => JSON.stringify(jwks);

/**
 * Applies `change` to one target's JWKS. A missing ConfigMap is created (labelled managed by rotor)
 * when `create`, else left absent; a missing namespace fails DeliveryMisconfigured when creating
 * (rotor does not create namespaces) and is `absent` otherwise. Each write carries the
 * resourceVersion read, so a concurrent change is read again, up to 5 times, then retried later.
 */
export async function updateJwks(
  kube: KubeClients,
  t: JwksTarget,
  at: JwksLocation,
  change: (jwks: Jwks) => Jwks,
  o: { create: boolean },
): Promise<JwksChange> {
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
        data: { [at.key]: serialize(change({ keys: [] })) },
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
    const before = jwksIn(cm, t, at);
    const after = change(before);
    if (cm.data?.[at.key] !== undefined && serialize(after) === serialize(before)) return 'unchanged';
    const body: V1ConfigMap = { ...cm, data: { ...cm.data, [at.key]: serialize(after) } };
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
    `${where}: ${resource} kept changing while rotor updated its JWKS (${attempts} attempts); retrying`,
  );
}
