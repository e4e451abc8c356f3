/**
 * Namespaced lists for a fleet of targets. Many targets often share one apiserver (a namespace per
 * app or tenant). Above a threshold, one paged LIST across all namespaces per kind replaces one
 * LIST per target namespace: at 1,000 namespaces on three apiservers, 3 requests per kind instead
 * of 1,000. The per-namespace list stays the fallback: an identity that may only list in its own
 * namespaces (as `rotor rbac` grants) gets a 403 on the wide list and is served per namespace.
 */
import type { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { V1Pod, V1ReplicaSet, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { errorText, statusCode } from './errors';

/** The clients a fleet list needs for one context. */
export interface ListClients {
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
}

interface Kinds {
  pods: V1Pod;
  replicaSets: V1ReplicaSet;
  roles: V1Role;
  roleBindings: V1RoleBinding;
}
type Kind = keyof Kinds;

interface Page<T> {
  items: T[];
  metadata?: { _continue?: string };
}
type PageParams = { limit?: number; _continue?: string };

type Item = { metadata?: { namespace?: string } };

/** The two ways to list each kind: in one namespace, and across all namespaces (paged). */
const listers: Record<
  Kind,
  {
    one: (c: ListClients, namespace: string) => Promise<Page<Item>>;
    all: (c: ListClients, page: PageParams) => Promise<Page<Item>>;
  }
> = {
  pods: {
    one: (c, namespace) => c.core.listNamespacedPod({ namespace }),
    all: (c, page) => c.core.listPodForAllNamespaces(page),
  },
  replicaSets: {
    one: (c, namespace) => c.apps.listNamespacedReplicaSet({ namespace }),
    all: (c, page) => c.apps.listReplicaSetForAllNamespaces(page),
  },
  roles: {
    one: (c, namespace) => c.rbac.listNamespacedRole({ namespace }),
    all: (c, page) => c.rbac.listRoleForAllNamespaces(page),
  },
  roleBindings: {
    one: (c, namespace) => c.rbac.listNamespacedRoleBinding({ namespace }),
    all: (c, page) => c.rbac.listRoleBindingForAllNamespaces(page),
  },
};

async function listAll(all: (page: PageParams) => Promise<Page<Item>>, pageSize: number): Promise<Map<string, Item[]>> {
  const byNamespace = new Map<string, Item[]>();
  let next: string | undefined;
  do {
    const page = await all({ limit: pageSize, ...(next ? { _continue: next } : {}) });
    for (const item of page.items) {
      const ns = item.metadata?.namespace ?? '';
      const items = byNamespace.get(ns);
      if (items) items.push(item);
      else byNamespace.set(ns, [item]);
    }
    next = page.metadata?._continue || undefined;
  } while (next);
  return byNamespace;
}

/** Lists of one kind in one namespace of one context, answered from a wide list where there is one. */
export interface FleetLists {
  list<K extends Kind>(kind: K, context: string, namespace: string): Promise<Kinds[K][]>;
  /** How the lists were served so far, per context and kind: `wide`, or `per-namespace` (and why). */
  readonly served: Map<string, string>;
}

/** When a context is listed across all namespaces, and how. */
export interface FleetListOptions {
  /** Targets sharing one context from which one wide list per kind replaces a list per namespace (20). */
  shareFrom?: number;
  /** Objects per page of a wide list, bounding each response on a large cluster (500). */
  pageSize?: number;
}

/**
 * Lists for `targets`: a context with at least `shareFrom` distinct target namespaces is listed
 * once per kind across all namespaces, on first use; any failure of that list (403 for a
 * namespaced identity, or a server error) falls back to per-namespace lists, which then report
 * their own errors per target as before.
 */
export function fleetLists(
  clientsOf: (context: string) => ListClients,
  targets: readonly { context: string; namespace: string }[],
  { shareFrom = 20, pageSize = 500 }: FleetListOptions = {},
): FleetLists {
  const namespaces = new Map<string, Set<string>>();
  for (const t of targets) namespaces.set(t.context, (namespaces.get(t.context) ?? new Set()).add(t.namespace));
  const wide = new Map<string, Promise<Map<string, Item[]> | undefined>>();
  const served = new Map<string, string>();
  return {
    served,
    async list<K extends Kind>(kind: K, context: string, namespace: string): Promise<Kinds[K][]> {
      const lister = listers[kind];
      const clients = clientsOf(context);
      const key = `${context}/${kind}`;
      if ((namespaces.get(context)?.size ?? 0) >= shareFrom) {
        if (!wide.has(key)) {
          wide.set(
            key,
            listAll((page) => lister.all(clients, page), pageSize).then(
              (map) => (served.set(key, 'wide'), map),
              (e: unknown) => (
                served.set(
                  key,
                  `per-namespace (wide list failed: ${statusCode(e) ? `HTTP ${statusCode(e)}` : errorText(e)})`,
                ),
                undefined
              ),
            ),
          );
        }
        const byNamespace = await wide.get(key);
        if (byNamespace) return (byNamespace.get(namespace) ?? []) as Kinds[K][];
      } else if (!served.has(key)) served.set(key, 'per-namespace');
      return (await lister.one(clients, namespace)).items as Kinds[K][];
    },
  };
}
