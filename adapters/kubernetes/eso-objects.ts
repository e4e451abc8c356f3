/**
 * External Secrets Operator specifics (ESO v0.20, API external-secrets.io/v1): finding the
 * ExternalSecrets that feed a Secret, pinning their remote refs to store versions, and reading
 * their sync status. Field names follow ExternalSecretDataRemoteRef in ESO's
 * apis/externalsecrets/v1/externalsecret_types.go: `key`, `property`, `version`.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Store } from '../../core/playbook/schema';
import type { ClusterVersions } from '../../core/contracts';

/**
 * Annotation rotor stamps to make ESO refresh now: any metadata change alters the hash in the
 * ExternalSecret's syncedResourceVersion, which ESO's periodic policy treats as "refresh". It is
 * the name ESO's documentation uses (`kubectl annotate es <name> force-sync=$(date +%s)`).
 */
export const forceSyncAnnotation = 'force-sync';

export interface RemoteRef {
  key: string;
  property?: string;
  version?: string;
  [field: string]: unknown;
}

export interface ExternalSecretData {
  secretKey: string;
  remoteRef: RemoteRef;
  [field: string]: unknown;
}

export interface EsoCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The fields of an ExternalSecret rotor reads or writes. */
export interface ExternalSecret extends KubernetesObject {
  metadata?: KubernetesObject['metadata'] & { name?: string; generation?: number };
  spec?: {
    refreshInterval?: string;
    refreshPolicy?: string;
    secretStoreRef?: { kind?: string; name?: string };
    target?: { name?: string };
    data?: ExternalSecretData[];
    dataFrom?: { extract?: { key?: string }; [field: string]: unknown }[];
  };
  status?: {
    refreshTime?: string;
    syncedResourceVersion?: string;
    conditions?: EsoCondition[];
  };
}

/** The provider parts of a SecretStore/ClusterSecretStore rotor checks. */
export interface SecretStoreObject extends KubernetesObject {
  spec?: {
    provider?: {
      vault?: { path?: string; version?: string };
      aws?: { service?: string };
      [provider: string]: unknown;
    };
  };
}

/** Name of the Secret an ExternalSecret writes (target.name defaults to the ExternalSecret's name). */
export function targetSecretName(es: ExternalSecret): string | undefined {
  return es.spec?.target?.name ?? es.metadata?.name;
}

/**
 * The remote ref of one store version. Vault KV v2: `key` is `<mount>/<path>`, which ESO resolves
 * to `<mount>/data/<path>` whether or not the store sets `path` (it strips a matching mount
 * prefix), `property` is the field and `version` the KV version number. AWS Secrets Manager: ESO
 * reads `version` as a staging label unless it starts with `uuid/`, so a version id is pinned as
 * `uuid/<VersionId>` (labels move during a rotation; ids do not). `property` selects a JSON field.
 */
export function pinnedRemoteRef(store: Store, version: string): RemoteRef {
  if (store.type === 'vault') return { key: `${store.mount}/${store.path}`, property: store.key, version };
  return { key: store.secretId, version: `uuid/${version}`, ...(store.key ? { property: store.key } : {}) };
}

/** Keys a remote ref may spell for this store entry, for recognising consumers of it. */
export function remoteKeysOf(store: Store): string[] {
  if (store.type === 'vault') return [`${store.mount}/${store.path}`, `${store.mount}/data/${store.path}`, store.path];
  return [store.secretId];
}

/** Remote keys an ExternalSecret reads (data and dataFrom extract). */
export function referencedKeys(es: ExternalSecret): string[] {
  const keys = [
    ...(es.spec?.data ?? []).map((d) => d.remoteRef?.key),
    ...(es.spec?.dataFrom ?? []).map((d) => d.extract?.key),
  ];
  return [...new Set(keys.filter((k): k is string => typeof k === 'string'))];
}

/**
 * `spec.data` with the rotation keys pinned: entries for other Secret keys are kept as they are,
 * `currentKey` and `otherKey` are replaced, and `otherKey` is left out when there is no other version.
 */
export function pinnedData(es: ExternalSecret, versions: ClusterVersions): ExternalSecretData[] {
  const { currentKey, otherKey } = versions;
  const kept = (es.spec?.data ?? []).filter((d) => d.secretKey !== currentKey && d.secretKey !== otherKey);
  const pinned: ExternalSecretData[] = [
    { secretKey: currentKey, remoteRef: pinnedRemoteRef(versions.store, versions.current.version) },
  ];
  if (versions.other)
    pinned.push({ secretKey: otherKey, remoteRef: pinnedRemoteRef(versions.store, versions.other.version) });
  return [...kept, ...pinned];
}

/** True for a Go duration string of zero length ("0", "0s", "0h0m0s", ...). */
export function isZeroDuration(d: string): boolean {
  return /^[0.]+(ns|us|µs|ms|s|m|h)?([0.]+(ns|us|µs|ms|s|m|h))*$/.test(d.trim());
}

/**
 * Why ESO would not act on a force-sync of this ExternalSecret, or undefined when it will. ESO
 * v0.20 skips every refresh of an already-synced ExternalSecret whose refreshInterval is zero
 * (unless refreshPolicy is OnChange), and never refreshes one with refreshPolicy CreatedOnce.
 */
export function forceSyncProblem(es: ExternalSecret): string | undefined {
  const policy = es.spec?.refreshPolicy;
  const interval = es.spec?.refreshInterval;
  if (policy === 'CreatedOnce') {
    return `has refreshPolicy CreatedOnce, so ESO never refreshes it and ignores force-sync; set refreshPolicy to Periodic (with a non-zero refreshInterval, e.g. 1h) or OnChange`;
  }
  if (interval !== undefined && isZeroDuration(interval) && policy !== 'OnChange') {
    return `has refreshInterval ${JSON.stringify(interval)}, and ESO ignores force-sync (and every other refresh) of a synced ExternalSecret with a zero refresh interval; set spec.refreshInterval to a non-zero duration (e.g. 1h) or spec.refreshPolicy to OnChange`;
  }
  return undefined;
}

/** Why the store an ExternalSecret uses cannot serve rotor's store entry, or undefined. */
export function storeMismatch(storeObj: SecretStoreObject, store: Store): string | undefined {
  const provider = storeObj.spec?.provider ?? {};
  const kind = Object.keys(provider).join(', ') || 'none';
  if (store.type === 'vault') {
    const vault = provider.vault;
    if (!vault) return `uses provider ${kind}, but the playbook's store is Vault`;
    if (vault.version === 'v1') return `is a Vault KV v1 store, but rotor pins KV v2 versions`;
    if (vault.path !== undefined && vault.path !== store.mount) {
      return `is bound to Vault mount '${vault.path}', but the playbook's secret lives under mount '${store.mount}'`;
    }
    return undefined;
  }
  const aws = provider.aws;
  if (!aws) return `uses provider ${kind}, but the playbook's store is AWS Secrets Manager`;
  if (aws.service !== undefined && aws.service !== 'SecretsManager')
    return `is an AWS ${aws.service} store, not SecretsManager`;
  return undefined;
}

export interface SyncState {
  synced: boolean;
  /** Value-free description: the Ready condition and whether it covers the current spec. */
  summary: string;
}

/**
 * Whether ESO has synced this ExternalSecret's current generation, after rotor's last force-sync:
 * Ready=True with reason SecretSynced, `status.syncedResourceVersion` for `metadata.generation`
 * (ESO writes `<generation>-<hash of labels and annotations>`), and `status.refreshTime` (whole
 * seconds) not before the force-sync stamp.
 */
export function syncState(es: ExternalSecret): SyncState {
  const name = es.metadata?.name ?? '?';
  const ready = es.status?.conditions?.find((c) => c.type === 'Ready');
  const cond = ready ? `Ready=${ready.status ?? '?'}${ready.reason ? ` ${ready.reason}` : ''}` : 'no Ready condition';
  const detail = ready?.status !== 'True' && ready?.message ? ` (${ready.message})` : '';
  const generation = es.metadata?.generation;
  const forGeneration =
    generation === undefined || (es.status?.syncedResourceVersion ?? '').startsWith(`${generation}-`);
  const stamp = es.metadata?.annotations?.[forceSyncAnnotation];
  const stampMs = stamp ? Date.parse(stamp) : NaN;
  const refreshMs = es.status?.refreshTime ? Date.parse(es.status.refreshTime) : NaN;
  const afterStamp =
    Number.isNaN(stampMs) || (!Number.isNaN(refreshMs) && refreshMs >= Math.floor(stampMs / 1000) * 1000);
  const synced = ready?.status === 'True' && ready.reason === 'SecretSynced' && forGeneration && afterStamp;
  const lag = !forGeneration
    ? `, not yet synced generation ${generation}`
    : !afterStamp
      ? ', not refreshed since force-sync'
      : '';
  return { synced, summary: `ExternalSecret ${name}: ${cond}${detail}${lag}` };
}
