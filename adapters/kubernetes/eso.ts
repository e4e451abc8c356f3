/**
 * ESO delivery: rotor pins the ExternalSecrets that feed the cluster's Secret to the rotation's
 * versions and makes ESO refresh now. Everything is checked before anything is written.
 */
import type { ClusterInput } from '../../core/contracts';
import { ErrorTypes, permanent } from '../../core/failures';
import { esoApiVersion, esoGroup, esoVersion, externalSecretsPlural, fieldManager } from '../../core/ids';
import type { ClusterTarget, Store } from '../../core/playbook/schema';
import type { KubeClients } from './clients';
import { contextOf, whereOf } from './clients';
import { forceSyncAnnotation, forceSyncProblem, pinnedData, storeMismatch, targetSecretName } from './eso-objects';
import type { ExternalSecret, SecretStoreObject } from './eso-objects';
import { kubeFailure, serverMessage, statusCode } from './errors';
import { serverSideApply } from './patch';

/**
 * The ExternalSecrets that write the cluster's Secret: those listed in `externalSecrets`, else
 * every ExternalSecret in the namespace whose target is the Secret.
 */
export async function findExternalSecrets(kube: KubeClients, cluster: ClusterTarget): Promise<ExternalSecret[]> {
  const { custom } = kube.forContext(contextOf(cluster));
  const { namespace, secretName } = cluster;
  const where = whereOf(cluster);
  const notServed = () =>
    permanent(
      ErrorTypes.deliveryMisconfigured,
      `${where}: the ExternalSecret API (${esoApiVersion}) is not served; install External Secrets Operator v0.20+ or use delivery push`,
    );
  if (cluster.externalSecrets?.length) {
    const found: ExternalSecret[] = [];
    for (const name of cluster.externalSecrets) {
      let es: ExternalSecret;
      try {
        es = (await custom.getNamespacedCustomObject({
          group: esoGroup,
          version: esoVersion,
          namespace,
          plural: externalSecretsPlural,
          name,
        })) as ExternalSecret;
      } catch (e) {
        if (statusCode(e) === 404) {
          const msg = serverMessage(e);
          if (/the server could not find the requested resource/.test(msg)) throw notServed();
          throw permanent(
            ErrorTypes.deliveryMisconfigured,
            `${where}: ExternalSecret ${namespace}/${name} (listed in clusters[].externalSecrets) does not exist; create it or fix the list`,
          );
        }
        throw kubeFailure(e, where, 'get', `externalsecrets ${namespace}/${name}`);
      }
      if (targetSecretName(es) !== secretName) {
        throw permanent(
          ErrorTypes.deliveryMisconfigured,
          `${where}: ExternalSecret ${namespace}/${name} writes Secret '${targetSecretName(es) ?? '?'}', not '${secretName}'; fix clusters[].externalSecrets or its spec.target.name`,
        );
      }
      found.push(es);
    }
    return found;
  }
  let list: { items?: ExternalSecret[] };
  try {
    list = (await custom.listNamespacedCustomObject({
      group: esoGroup,
      version: esoVersion,
      namespace,
      plural: externalSecretsPlural,
    })) as typeof list;
  } catch (e) {
    if (statusCode(e) === 404) throw notServed();
    throw kubeFailure(e, where, 'list', `externalsecrets in namespace ${namespace}`);
  }
  const found = (list.items ?? []).filter((es) => targetSecretName(es) === secretName);
  if (found.length === 0) {
    throw permanent(
      ErrorTypes.deliveryMisconfigured,
      `${where}: no ExternalSecret in namespace ${namespace} writes Secret '${secretName}'; create one with spec.target.name: ${secretName}, list it in clusters[].externalSecrets, or use delivery push`,
    );
  }
  return found;
}

/** Checks the store an ExternalSecret reads can serve rotor's store entry; skipped when rotor may not read stores. */
export async function checkSecretStore(
  kube: KubeClients,
  cluster: ClusterTarget,
  es: ExternalSecret,
  store: Store,
): Promise<void> {
  const { custom } = kube.forContext(contextOf(cluster));
  const where = whereOf(cluster);
  const esName = `ExternalSecret ${cluster.namespace}/${es.metadata?.name ?? '?'}`;
  const ref = es.spec?.secretStoreRef;
  const kind = ref?.kind ?? 'SecretStore';
  if (!ref?.name)
    throw permanent(ErrorTypes.deliveryMisconfigured, `${where}: ${esName} has no spec.secretStoreRef.name`);
  let obj: SecretStoreObject;
  try {
    obj = (
      kind === 'ClusterSecretStore'
        ? await custom.getClusterCustomObject({
            group: esoGroup,
            version: esoVersion,
            plural: 'clustersecretstores',
            name: ref.name,
          })
        : await custom.getNamespacedCustomObject({
            group: esoGroup,
            version: esoVersion,
            namespace: cluster.namespace,
            plural: 'secretstores',
            name: ref.name,
          })
    ) as SecretStoreObject;
  } catch (e) {
    if (statusCode(e) === 404)
      throw permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: ${esName} uses ${kind} ${ref.name}, which does not exist`,
      );
    if (statusCode(e) === 403) return;
    throw kubeFailure(e, where, 'get', `${kind} ${ref.name}`);
  }
  const mismatch = storeMismatch(obj, store);
  if (mismatch)
    throw permanent(
      ErrorTypes.deliveryMisconfigured,
      `${where}: ${esName} uses ${kind} ${ref.name}, which ${mismatch}`,
    );
}

export async function deliverEso(kube: KubeClients, { cluster, versions }: ClusterInput): Promise<void> {
  const { custom } = kube.forContext(contextOf(cluster));
  const where = whereOf(cluster);
  const found = await findExternalSecrets(kube, cluster);
  // Everything is checked before anything is written, so a misconfiguration leaves the cluster untouched.
  for (const es of found) {
    const problem = forceSyncProblem(es);
    if (problem)
      throw permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: ExternalSecret ${cluster.namespace}/${es.metadata?.name ?? '?'} ${problem}`,
      );
    await checkSecretStore(kube, cluster, es, versions.store);
  }
  const stamp = new Date().toISOString();
  for (const es of found) {
    const name = es.metadata?.name ?? '';
    const body = {
      apiVersion: esoApiVersion,
      kind: 'ExternalSecret',
      metadata: { name, namespace: cluster.namespace, annotations: { [forceSyncAnnotation]: stamp } },
      spec: { data: pinnedData(es, versions) },
    };
    try {
      await custom.patchNamespacedCustomObject(
        {
          group: esoGroup,
          version: esoVersion,
          namespace: cluster.namespace,
          plural: externalSecretsPlural,
          name,
          body,
          fieldManager,
          force: true,
        },
        serverSideApply,
      );
    } catch (e) {
      throw kubeFailure(e, where, 'patch', `externalsecrets ${cluster.namespace}/${name}`);
    }
  }
}
