/**
 * Read-only Kubernetes calls for `inspect/`: RBAC objects, SubjectAccessReviews, pod specs of pods
 * and workloads, ServiceAccounts and ExternalSecrets. Secrets themselves are never read here.
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Role,
  V1RoleBinding,
} from '@kubernetes/client-node';
import { esoGroup, esoVersion, externalSecretsPlural } from '../../core/ids';
import type { Clients } from './clients';
import { statusCode } from './errors';
import type { ExternalSecret } from './eso-objects';

/** The RBAC objects an analysis needs (Roles and RoleBindings may cover one namespace or all). */
export interface RbacSnapshot {
  clusterRoles: V1ClusterRole[];
  clusterRoleBindings: V1ClusterRoleBinding[];
  roles: V1Role[];
  roleBindings: V1RoleBinding[];
}

/** A user, group or service account, as RBAC subjects name them. */
export interface Identity {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
}

/** The verbs that reveal a Secret's value: `list` and `watch` return the data just like `get`. */
export const readVerbs = ['get', 'list', 'watch'] as const;
export type ReadVerb = (typeof readVerbs)[number];

/** A pod, or the pod template of a workload, with where it lives. */
export interface PodSource {
  kind: 'Pod' | 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';
  name: string;
  namespace: string;
  spec: V1PodSpec;
  /** A pod or Job created by a controller; its owner's template is inspected instead. */
  owned?: boolean;
}

/**
 * ClusterRoles, ClusterRoleBindings, and the Roles and RoleBindings of `namespaces` (every
 * namespace when omitted).
 */
export async function readRbac(
  c: Clients,
  namespaces?: string[],
  clusterScoped: Promise<ClusterRbac> = readClusterRbac(c),
): Promise<RbacSnapshot> {
  const nsRoles = namespaces
    ? Promise.all(
        namespaces.map(async (namespace) => {
          const [r, b] = await Promise.all([
            c.rbac.listNamespacedRole({ namespace }),
            c.rbac.listNamespacedRoleBinding({ namespace }),
          ]);
          return { roles: r.items, bindings: b.items };
        }),
      )
    : Promise.all([c.rbac.listRoleForAllNamespaces(), c.rbac.listRoleBindingForAllNamespaces()]).then(([r, b]) => [
        { roles: r.items, bindings: b.items },
      ]);
  // Awaited together: a rejection of either is never left unhandled while the other runs.
  const [cluster, namespaced] = await Promise.all([clusterScoped, nsRoles]);
  return {
    ...cluster,
    roles: namespaced.flatMap((n) => n.roles),
    roleBindings: namespaced.flatMap((n) => n.bindings),
  };
}

/** The cluster-scoped half of an RBAC snapshot: the same for every namespace of one cluster. */
export type ClusterRbac = Pick<RbacSnapshot, 'clusterRoles' | 'clusterRoleBindings'>;

/** ClusterRoles and ClusterRoleBindings of one cluster (read once per context when many namespaces are asked about). */
export async function readClusterRbac(c: Clients): Promise<ClusterRbac> {
  const [clusterRoles, clusterRoleBindings] = await Promise.all([
    c.rbac.listClusterRole(),
    c.rbac.listClusterRoleBinding(),
  ]);
  return { clusterRoles: clusterRoles.items, clusterRoleBindings: clusterRoleBindings.items };
}

/** The user and groups the API server would see for an identity (service accounts as their token does). */
function asRequester(i: Identity): { user?: string; groups?: string[] } {
  if (i.kind === 'User') return { user: i.name };
  if (i.kind === 'Group') return { groups: [i.name] };
  const ns = i.namespace ?? '';
  return {
    user: `system:serviceaccount:${ns}:${i.name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
  };
}

/** Which of get/list/watch the API server allows `identity` on Secret `namespace/name` (SubjectAccessReview). */
export async function reviewSecretAccess(
  c: Clients,
  identity: Identity,
  namespace: string,
  name: string,
  verbs: readonly ReadVerb[],
): Promise<ReadVerb[]> {
  const allowed = await Promise.all(
    verbs.map(async (verb) => {
      const review = await c.authz.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { ...asRequester(identity), resourceAttributes: { namespace, verb, resource: 'secrets', name } },
        },
      });
      return review.status?.allowed ? verb : undefined;
    }),
  );
  return allowed.filter((v): v is ReadVerb => v !== undefined);
}

const template = (t: V1PodTemplateSpec | undefined): V1PodSpec | undefined => t?.spec;

/** Pods and the pod templates of Deployments, StatefulSets, DaemonSets, Jobs and CronJobs in `namespace`. */
export async function readPodSources(c: Clients, namespace: string): Promise<PodSource[]> {
  const [pods, deployments, statefulSets, daemonSets, jobs, cronJobs] = await Promise.all([
    c.core.listNamespacedPod({ namespace }),
    c.apps.listNamespacedDeployment({ namespace }),
    c.apps.listNamespacedStatefulSet({ namespace }),
    c.apps.listNamespacedDaemonSet({ namespace }),
    c.batch.listNamespacedJob({ namespace }),
    c.batch.listNamespacedCronJob({ namespace }),
  ]);
  const sources: PodSource[] = [];
  const add = (kind: PodSource['kind'], name: string | undefined, spec: V1PodSpec | undefined, owned = false) => {
    if (spec) sources.push({ kind, name: name ?? '?', namespace, spec, ...(owned ? { owned } : {}) });
  };
  for (const p of pods.items)
    add('Pod', p.metadata?.name, p.spec, !!p.metadata?.ownerReferences?.some((o) => o.controller));
  for (const d of deployments.items) add('Deployment', d.metadata?.name, template(d.spec?.template));
  for (const s of statefulSets.items) add('StatefulSet', s.metadata?.name, template(s.spec?.template));
  for (const d of daemonSets.items) add('DaemonSet', d.metadata?.name, template(d.spec?.template));
  for (const j of jobs.items)
    add('Job', j.metadata?.name, template(j.spec?.template), !!j.metadata?.ownerReferences?.some((o) => o.controller));
  for (const cj of cronJobs.items) add('CronJob', cj.metadata?.name, template(cj.spec?.jobTemplate.spec?.template));
  return sources;
}

/** `automountServiceAccountToken` of the namespace's `default` ServiceAccount (undefined: not set, or missing). */
export async function defaultServiceAccountAutomount(c: Clients, namespace: string): Promise<boolean | undefined> {
  try {
    return (await c.core.readNamespacedServiceAccount({ name: 'default', namespace })).automountServiceAccountToken;
  } catch (e) {
    if (statusCode(e) === 404) return undefined;
    throw e;
  }
}

/** ExternalSecrets of `namespace`; none when the cluster has no ESO API. */
export async function readExternalSecrets(c: Clients, namespace: string): Promise<ExternalSecret[]> {
  try {
    const list = (await c.custom.listNamespacedCustomObject({
      group: esoGroup,
      version: esoVersion,
      namespace,
      plural: externalSecretsPlural,
    })) as { items?: ExternalSecret[] };
    return list.items ?? [];
  } catch (e) {
    if (statusCode(e) === 404) return [];
    throw e;
  }
}
