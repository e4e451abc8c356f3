/**
 * Blast-radius check for `rotor plan`: ExternalSecrets, in kubeconfig contexts the playbook does
 * not list, that read the same store entry (by remote key). Such clusters would keep serving the
 * old version after revoke. Contexts that cannot be scanned are returned, not thrown.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { KubeClients } from '../adapters/kubernetes/clients';
import { contextOf } from '../adapters/kubernetes/clients';
import { referencedKeys, remoteKeysOf, targetSecretName } from '../adapters/kubernetes/eso-objects';
import type { ExternalSecret } from '../adapters/kubernetes/eso-objects';
import { errorText, statusCode } from '../adapters/kubernetes/errors';
import { esoGroup, esoVersion, externalSecretsPlural } from '../core/ids';
import type { ClusterTarget, Store } from '../core/playbook/schema';
import { withTimeout } from './read-timeout';

export interface UnlistedConsumersInput {
  /** kubeconfig contexts to scan; every context of the worker's kubeconfig when omitted. */
  contexts?: string[];
  store: Store;
  /** The playbook's clusters; their contexts (context, else name) are not scanned. */
  listedClusters: Pick<ClusterTarget, 'name' | 'context'>[];
}

/** An ExternalSecret outside the playbook that reads the same store entry: part of the blast radius. */
export interface UnlistedConsumer {
  context: string;
  namespace: string;
  externalSecret: string;
  secretName: string;
  store: string;
}

export interface UnlistedConsumersResult {
  consumers: UnlistedConsumer[];
  /** Contexts that could not be scanned, with why (a plan should say what it could not see). */
  unscanned: { context: string; reason: string }[];
}

export async function findUnlistedConsumers(
  kube: KubeClients,
  { contexts, store, listedClusters }: UnlistedConsumersInput,
): Promise<UnlistedConsumersResult> {
  const listed = new Set(listedClusters.map(contextOf));
  const scan = (contexts ?? kube.kubeconfig.getContexts().map((c) => c.name)).filter((c) => !listed.has(c));
  const keys = new Set(remoteKeysOf(store));
  const result: UnlistedConsumersResult = { consumers: [], unscanned: [] };
  await Promise.all(
    scan.map(async (context) => {
      let items: ExternalSecret[];
      try {
        const { custom } = kube.forContext(context);
        const list = (await withTimeout(
          `${context}: list ExternalSecrets`,
          custom.listClusterCustomObject({ group: esoGroup, version: esoVersion, plural: externalSecretsPlural }),
        )) as { items?: ExternalSecret[] };
        items = list.items ?? [];
      } catch (e) {
        // No ExternalSecret API in that cluster: nothing there can consume the entry through ESO.
        if (statusCode(e) === 404) return;
        result.unscanned.push({ context, reason: e instanceof ApplicationFailure ? e.message : errorText(e) });
        return;
      }
      for (const es of items) {
        if (!referencedKeys(es).some((k) => keys.has(k))) continue;
        const ref = es.spec?.secretStoreRef;
        const consumer: UnlistedConsumer = {
          context,
          namespace: es.metadata?.namespace ?? '',
          externalSecret: es.metadata?.name ?? '',
          secretName: targetSecretName(es) ?? '',
          store: `${ref?.kind ?? 'SecretStore'}/${ref?.name ?? '?'}`,
        };
        result.consumers.push(consumer);
      }
    }),
  );
  result.consumers.sort((a, b) =>
    `${a.context}/${a.namespace}/${a.externalSecret}`.localeCompare(`${b.context}/${b.namespace}/${b.externalSecret}`),
  );
  return result;
}
