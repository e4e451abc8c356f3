/**
 * Push delivery: rotor server-side-applies the cluster's Secret itself. During a rotation the
 * Secret holds the current version under `currentKey` and the other version under `otherKey`.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { ClusterInput } from '../../core/contracts';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';
import { fieldManager, managedByLabel } from '../../core/ids';
import type { KubeClients } from './clients';
import { contextOf, whereOf } from './clients';
import { kubeFailure, statusCode } from './errors';
import { jsonPatch, serverSideApply } from './patch';
import { tlsDataOf } from './tls-secret';
import type { VersionValues } from './values';

/** Escapes a key for a JSON Pointer (RFC 6901). */
function pointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

const base64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

/** What `deliverPush` returns for a restore into a namespace that does not exist: nothing to restore. */
export const noNamespace = Symbol('no namespace');

/**
 * Applies the Secret with exactly the rotation's keys; a stale `otherKey` written by someone else is removed.
 * Returns the Secret as the apiserver stored it (so a caller can verify from the reply without a watch),
 * or undefined when a second write followed and the reply is no longer the stored object. A missing
 * namespace fails delivery (permanent: the playbook is wrong), but is `noNamespace` for a restore:
 * no copy of the new version can be there, so the undo has nothing to do.
 */
export async function deliverPush(
  kube: KubeClients,
  values: VersionValues,
  { cluster, versions }: ClusterInput,
  o: { restore?: boolean } = {},
): Promise<V1Secret | undefined | typeof noNamespace> {
  const { core } = kube.forContext(contextOf(cluster));
  const { namespace, secretName: name } = cluster;
  const where = whereOf(cluster);
  const resource = `secret ${namespace}/${name}`;
  const current = await values.valueOf(versions.store, versions.current, where);
  const other = versions.other ? await values.valueOf(versions.store, versions.other, where) : null;
  const data: Record<string, string> = {
    [versions.currentKey]: base64(current),
    ...tlsDataOf(versions, current, where),
  };
  if (other !== null) data[versions.otherKey] = base64(other);
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: managedByLabel },
    ...(versions.secretType ? { type: versions.secretType } : {}),
    data,
  };

  let applied: V1Secret;
  try {
    applied = await core.patchNamespacedSecret({ name, namespace, body, fieldManager, force: true }, serverSideApply);
  } catch (e) {
    if (statusCode(e) === 404) {
      if (o.restore) return noNamespace;
      throw permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: namespace ${namespace} does not exist; create it (rotor does not create namespaces) or fix clusters[].namespace`,
      );
    }
    // A Secret's type cannot change: an Opaque Secret of that name stays one.
    if (versions.secretType && statusCode(e) === 422 && /field is immutable/.test((e as Error).message))
      throw permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: ${resource} exists with another type; a vault-pki-certificate is delivered as ${versions.secretType}: delete it so rotor creates it, or name another clusters[].secretName`,
      );
    throw kubeFailure(e, where, 'patch', resource);
  }
  if (other === null && applied.data?.[versions.otherKey] !== undefined) {
    // Apply only drops keys rotor owns; a key another manager wrote (kubectl, a migration) stays, so remove it explicitly.
    const patch = [
      { op: 'test', path: '/metadata/resourceVersion', value: applied.metadata?.resourceVersion },
      { op: 'remove', path: `/data/${pointer(versions.otherKey)}` },
    ];
    try {
      await core.patchNamespacedSecret({ name, namespace, body: patch, fieldManager }, jsonPatch);
    } catch (e) {
      // A failed test op (concurrent write) is a 422 here but worth a retry: the next attempt re-applies first.
      if (statusCode(e) === 422)
        throw retryable(
          RetryableErrorTypes.kubernetesConflict,
          `${where}: ${resource} changed while removing key ${versions.otherKey}; retrying`,
        );
      throw kubeFailure(e, where, 'patch', resource);
    }
    return undefined;
  }
  return applied;
}
