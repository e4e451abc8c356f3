/**
 * Who can read a rotated Secret, per cluster: every user, group and service account that RBAC lets
 * get, list or watch it, each confirmed with a SubjectAccessReview. Secrets are never read; the
 * result holds names only, so it may go into Temporal history and the audit trail.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { readClusterRbac, readPodSources, reviewSecretAccess } from '../adapters/kubernetes/inspect-reads';
import { clientsFor } from '../adapters/kubernetes/clients';
import type { Clients } from '../adapters/kubernetes/clients';
import { errorText } from '../adapters/kubernetes/errors';
import { fleetLists } from '../adapters/kubernetes/fleet-lists';
import type { FleetLists } from '../adapters/kubernetes/fleet-lists';
import type { ClusterRbac, PodSource, RbacSnapshot, ReadVerb } from '../adapters/kubernetes/inspect-reads';
import type { ClusterReaders, ReadersTarget, SecretReader } from '../core/contracts';
import { secretConsumers } from './consumers';
import { identityKey, secretReaders } from './rbac-grants';
import { ReviewCache, rbacFingerprint } from './review-cache';
import type { SecretGrant } from './rbac-grants';

/** Groups RBAC grants by identity, keeping every path. */
function byIdentity(grants: SecretGrant[]): Map<string, SecretGrant[]> {
  const map = new Map<string, SecretGrant[]>();
  for (const g of grants) map.set(identityKey(g.identity), [...(map.get(identityKey(g.identity)) ?? []), g]);
  return map;
}

/**
 * What one listing of many targets shares per cluster: clients, the cluster-scoped RBAC objects, and
 * the SubjectAccessReview answers (those of identities whose only grants are cluster-wide are the
 * same in every namespace). Without it a fleet of namespaces on one apiserver repeats them per target.
 */
export interface ReadersSession {
  clients: Map<string, Clients>;
  clusterRbac: Map<string, Promise<ClusterRbac>>;
  /** Answers kept while the RBAC deciding them is unchanged; the worker's outlives the session (review-cache.ts). */
  reviews: ReviewCache;
  /** Roles, RoleBindings and pods, listed once per apiserver when many targets share it (fleet-lists.ts). */
  lists: FleetLists;
  /** Consumers from running pods only (what a rotation's plan needs), not from every workload template (doctor). */
  runningPodsOnly: boolean;
}

/** A session over `kubeconfig` for `targets`; `lists` shares the caller's lists of the same targets. */
export function newReadersSession(
  kubeconfig: KubeConfig,
  targets: readonly ReadersTarget[] = [],
  opts: { runningPodsOnly?: boolean; lists?: FleetLists; reviews?: ReviewCache } = {},
): ReadersSession {
  const clients = new Map<string, Clients>();
  const clientsOf = (context: string) => memo(clients, context, () => clientsFor(kubeconfig, context));
  return {
    clients,
    clusterRbac: new Map(),
    reviews: opts.reviews ?? new ReviewCache(),
    lists: opts.lists ?? fleetLists(clientsOf, targets.map(readersWhere)),
    runningPodsOnly: opts.runningPodsOnly ?? false,
  };
}

function memo<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  if (!map.has(key)) {
    const value = make();
    // A shared promise may reject while no caller awaits it yet; each caller still sees the rejection.
    if (value instanceof Promise) value.catch(() => undefined);
    map.set(key, value);
  }
  return map.get(key) as V;
}

/** Fingerprints of cluster-scoped RBAC, once per list read (targets on one cluster share it). */
const clusterPrints = new WeakMap<ClusterRbac['clusterRoles'], string>();

/**
 * Where an answer is filed: the apiserver, the fingerprint of the RBAC objects that decide it, and
 * the question. An identity whose grants are all cluster-wide is asked about verbs those grants
 * give, which no namespaced object can take away: the cluster-scoped objects decide it, the same in
 * every namespace. Any other answer also depends on the namespace's Roles and RoleBindings.
 */
export function reviewKey(
  c: Clients,
  snap: RbacSnapshot,
  t: ReadersTarget,
  who: string,
  verbs: readonly ReadVerb[],
  clusterWide: boolean,
): string {
  let cluster = clusterPrints.get(snap.clusterRoles);
  if (cluster === undefined) {
    cluster = rbacFingerprint(snap.clusterRoles, snap.clusterRoleBindings);
    clusterPrints.set(snap.clusterRoles, cluster);
  }
  const question = [c.kc.getCurrentCluster()?.server ?? '', c.context, cluster, who, verbs.join(',')];
  if (clusterWide) return question.join('\0');
  return [...question, rbacFingerprint(snap.roles, snap.roleBindings), t.namespace, t.secretName].join('\0');
}

async function confirm(
  c: Clients,
  t: ReadersTarget,
  grants: SecretGrant[],
  session: ReadersSession,
  snap: RbacSnapshot,
): Promise<{ verbs: ReadVerb[]; confirmed: boolean; error?: string }> {
  const first = grants[0] as SecretGrant;
  const rbacVerbs = [...new Set(grants.flatMap((g) => g.verbs))];
  const review = () => reviewSecretAccess(c, first.identity, t.namespace, t.secretName, rbacVerbs);
  const clusterWide = grants.every((g) => g.binding.startsWith('ClusterRoleBinding/') && g.scope === 'cluster');
  const key = reviewKey(c, snap, t, identityKey(first.identity), rbacVerbs, clusterWide);
  try {
    // Kept only when the apiserver confirms every verb the RBAC objects grant (review-cache.ts says why).
    const confirmsRbac = (verbs: ReadVerb[]) => verbs.length === rbacVerbs.length;
    return { verbs: await session.reviews.answer(key, review, confirmsRbac), confirmed: true };
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
  opts: { timeoutMs?: number; session?: ReadersSession } = {},
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
  return Promise.race([listReaders(kubeconfig, t, opts.session ?? newReadersSession(kubeconfig)), timeout]).finally(
    () => clearTimeout(timer),
  );
}

/**
 * The answers this process keeps for {@link whoCanReadAll}: in the worker, every rotation's plan
 * after the first reuses them until the RBAC deciding one changes (review-cache.ts).
 */
export const processReviews = new ReviewCache();

/**
 * Who can read each target's Secret, sharing per-cluster reads (see {@link ReadersSession}) and at
 * most `parallel` targets at a time; `timeoutMs` bounds each target once it starts. Known
 * consumers come from running pods only (what a rotation's plan needs; doctor reads templates).
 * `lists` shares the namespaced lists with the caller's other reads of the same targets; `reviews`
 * keeps SubjectAccessReview answers (default: {@link processReviews}, kept across calls).
 */
export async function whoCanReadAll(
  kubeconfig: KubeConfig,
  targets: readonly ReadersTarget[],
  opts: { timeoutMs?: number; parallel?: number; lists?: FleetLists; reviews?: ReviewCache } = {},
): Promise<ClusterReaders[]> {
  const session = newReadersSession(kubeconfig, targets, {
    runningPodsOnly: true,
    reviews: opts.reviews ?? processReviews,
    ...(opts.lists ? { lists: opts.lists } : {}),
  });
  const limit = pLimit(opts.parallel ?? 25);
  return Promise.all(targets.map((t) => limit(() => whoCanRead(kubeconfig, t, { ...opts, session }))));
}

async function listReaders(kubeconfig: KubeConfig, t: ReadersTarget, session: ReadersSession): Promise<ClusterReaders> {
  const result: ClusterReaders = {
    cluster: t.name,
    namespace: t.namespace,
    secretName: t.secretName,
    readers: [],
    consumers: [],
    unseen: [],
  };
  let c: Clients;
  try {
    const context = t.context ?? t.name;
    c = memo(session.clients, context, () => clientsFor(kubeconfig, context));
  } catch (e) {
    result.unseen.push(errorText(e));
    return result;
  }
  const clusterRbac = memo(session.clusterRbac, c.context, () => readClusterRbac(c));
  const [snap, sources] = await Promise.allSettled([
    listedRbac(session.lists, c.context, t.namespace, clusterRbac),
    session.runningPodsOnly ? listedPods(session.lists, c.context, t.namespace) : readPodSources(c, t.namespace),
  ]);
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
      const { verbs, confirmed, error } = await confirm(c, t, grants, session, snap.value);
      if (error) unconfirmed.add(error);
      const system = grants.every((g) => g.system);
      const rotor = grants.some((g) => g.rotor);
      const broad = grants.some((g) => g.broad);
      const consumer = consumers.has(key);
      const reader: SecretReader = {
        identity: key,
        kind: (grants[0] as SecretGrant).identity.kind,
        verbs,
        via: grants.map((g) => `${g.binding} → ${g.role} (${g.scope})`),
        system,
        rotor,
        ...(broad ? { broad } : {}),
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

const readersWhere = (t: ReadersTarget) => ({ context: t.context ?? t.name, namespace: t.namespace });

/** The RBAC snapshot of one namespace: the cluster's shared part, and its Roles and RoleBindings from the lists. */
async function listedRbac(
  lists: FleetLists,
  context: string,
  namespace: string,
  clusterRbac: Promise<ClusterRbac>,
): Promise<RbacSnapshot> {
  const [cluster, roles, roleBindings] = await Promise.all([
    clusterRbac,
    lists.list('roles', context, namespace),
    lists.list('roleBindings', context, namespace),
  ]);
  return { ...cluster, roles, roleBindings };
}

/** The running pods of `namespace`, each its own source (none marked owned), from the lists. */
async function listedPods(lists: FleetLists, context: string, namespace: string): Promise<PodSource[]> {
  const pods = await lists.list('pods', context, namespace);
  return pods.flatMap((p) =>
    p.spec ? [{ kind: 'Pod' as const, name: p.metadata?.name ?? '?', namespace, spec: p.spec }] : [],
  );
}
