/**
 * Who can read a rotated Secret, per cluster: every user, group and service account that RBAC lets
 * get, list or watch it, each confirmed with a SubjectAccessReview. Secrets are never read; the
 * result holds names only, so it may go into Temporal history and the audit trail.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { inspectClients, readPodSources, readRbac, reviewSecretAccess } from '../adapters/kubernetes/inspect-reads';
import { errorText } from '../adapters/kubernetes/errors';
import type { InspectClients, ReadVerb } from '../adapters/kubernetes/inspect-reads';
import type { ClusterReaders, ReadersTarget, SecretReader } from '../core/contracts';
import { secretConsumers } from './consumers';
import { identityKey, secretReaders } from './rbac-grants';
import type { SecretGrant } from './rbac-grants';

/** Groups RBAC grants by identity, keeping every path. */
function byIdentity(grants: SecretGrant[]): Map<string, SecretGrant[]> {
  const map = new Map<string, SecretGrant[]>();
  for (const g of grants) map.set(identityKey(g.identity), [...(map.get(identityKey(g.identity)) ?? []), g]);
  return map;
}

async function confirm(
  c: InspectClients,
  t: ReadersTarget,
  grants: SecretGrant[],
): Promise<{ verbs: ReadVerb[]; confirmed: boolean; error?: string }> {
  const first = grants[0] as SecretGrant;
  const rbacVerbs = [...new Set(grants.flatMap((g) => g.verbs))];
  try {
    return {
      verbs: await reviewSecretAccess(c, first.identity, t.namespace, t.secretName, rbacVerbs),
      confirmed: true,
    };
  } catch (e) {
    return { verbs: rbacVerbs, confirmed: false, error: errorText(e) };
  }
}

/**
 * Who can read `t.namespace/t.secretName` in one cluster. Failures, and a cluster that does not
 * answer within `timeoutMs`, become `unseen`: it never throws.
 */
export async function whoCanRead(
  kubeconfig: KubeConfig,
  t: ReadersTarget,
  opts: { timeoutMs?: number } = {},
): Promise<ClusterReaders> {
  const empty = (reason: string): ClusterReaders => ({
    cluster: t.name,
    namespace: t.namespace,
    secretName: t.secretName,
    readers: [],
    consumers: [],
    unseen: [reason],
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ClusterReaders>((resolve) => {
    timer = setTimeout(
      () => resolve(empty(`readers: cluster did not answer within ${(opts.timeoutMs ?? 30_000) / 1000}s`)),
      opts.timeoutMs ?? 30_000,
    );
  });
  return Promise.race([listReaders(kubeconfig, t), timeout]).finally(() => clearTimeout(timer));
}

async function listReaders(kubeconfig: KubeConfig, t: ReadersTarget): Promise<ClusterReaders> {
  const result: ClusterReaders = {
    cluster: t.name,
    namespace: t.namespace,
    secretName: t.secretName,
    readers: [],
    consumers: [],
    unseen: [],
  };
  let c: InspectClients;
  try {
    c = inspectClients(kubeconfig, t.context ?? t.name);
  } catch (e) {
    result.unseen.push(errorText(e));
    return result;
  }
  const [snap, sources] = await Promise.allSettled([readRbac(c, [t.namespace]), readPodSources(c, t.namespace)]);
  if (sources.status === 'fulfilled') {
    const sas = secretConsumers(sources.value, t.secretName).map((s) =>
      identityKey({ kind: 'ServiceAccount', name: s.serviceAccount, namespace: t.namespace }),
    );
    result.consumers = [...new Set(sas)].sort();
  } else result.unseen.push(`consumers: cannot list pods and workloads: ${errorText(sources.reason)}`);
  if (snap.status === 'rejected') {
    result.unseen.push(`readers: cannot list RBAC objects: ${errorText(snap.reason)}`);
    return result;
  }
  const consumers = new Set(result.consumers);
  const unconfirmed = new Set<string>();
  const readers = await Promise.all(
    [...byIdentity(secretReaders(snap.value, t.namespace, t.secretName))].map(async ([key, grants]) => {
      const { verbs, confirmed, error } = await confirm(c, t, grants);
      if (error) unconfirmed.add(error);
      const system = grants.every((g) => g.system);
      const rotor = grants.some((g) => g.rotor);
      const consumer = consumers.has(key);
      const reader: SecretReader = {
        identity: key,
        kind: (grants[0] as SecretGrant).identity.kind,
        verbs,
        via: grants.map((g) => `${g.binding} → ${g.role} (${g.scope})`),
        system,
        rotor,
        consumer,
        flagged: !system && !rotor && !consumer,
        confirmed,
      };
      return reader;
    }),
  );
  for (const e of unconfirmed)
    result.unseen.push(`SubjectAccessReview failed (${e}); readers are from RBAC objects only`);
  result.readers = readers.filter((r) => r.verbs.length).sort((a, b) => a.identity.localeCompare(b.identity));
  return result;
}
