/**
 * Pure RBAC analysis over a snapshot of Roles, ClusterRoles and their bindings: who may read a
 * Secret, which grants on Secrets are broad, and who may `escalate` or `bind`. Aggregated
 * ClusterRoles already carry their aggregated rules, so no aggregation is computed here.
 */
import type { RbacV1Subject, V1PolicyRule } from '@kubernetes/client-node';
import { readVerbs } from '../adapters/kubernetes/inspect-reads';
import type { Identity, RbacSnapshot, ReadVerb } from '../adapters/kubernetes/inspect-reads';

/** How far a grant reaches: every namespace, one whole namespace, or named objects only. */
export type GrantScope = 'cluster' | 'namespace' | 'name';

/** One binding that lets one identity read Secrets. */
export interface SecretGrant {
  identity: Identity;
  verbs: ReadVerb[];
  scope: GrantScope;
  /** `ClusterRoleBinding/<name>` or `RoleBinding/<namespace>/<name>`. */
  binding: string;
  /** `ClusterRole/<name>` or `Role/<namespace>/<name>`. */
  role: string;
  /** Built-in or control-plane machinery (system: names, kube-system service accounts); never a broad group. */
  system: boolean;
  /**
   * Made by `rotor rbac`, judged by content: the label `app.kubernetes.io/managed-by: rotor` on a
   * RoleBinding to a Role of its namespace that names its Secrets (resourceNames), bound to service
   * accounts only. A label alone (anyone who may create bindings can write it) is not enough.
   */
  rotor: boolean;
  /** The identity is (nearly) everyone: system:authenticated, system:serviceaccounts[:ns], anonymous. */
  broad: boolean;
}

/** `user:alice`, `group:devs`, `serviceaccount:ns/name`: a stable, readable key. */
export function identityKey(i: Identity): string {
  return i.kind === 'ServiceAccount'
    ? `serviceaccount:${i.namespace ?? ''}/${i.name}`
    : `${i.kind.toLowerCase()}:${i.name}`;
}

function isSystemName(name: string | undefined): boolean {
  return !!name && name.startsWith('system:');
}

/**
 * Identities that stand for everyone, or every workload: named `system:` but no control-plane
 * machinery. A grant to them is the broadest there is, never a "system" grant to leave out.
 */
export function isBroadIdentity(i: Identity): boolean {
  if (i.kind === 'User') return i.name === 'system:anonymous';
  if (i.kind !== 'Group') return false;
  return (
    ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts'].includes(i.name) ||
    i.name.startsWith('system:serviceaccounts:')
  );
}

function isSystemIdentity(i: Identity): boolean {
  if (isBroadIdentity(i)) return false;
  return isSystemName(i.name) || (i.kind === 'ServiceAccount' && i.namespace === 'kube-system');
}

function identityOf(s: RbacV1Subject, bindingNamespace: string | undefined): Identity | undefined {
  if (s.kind === 'ServiceAccount')
    return { kind: 'ServiceAccount', name: s.name, namespace: s.namespace ?? bindingNamespace };
  if (s.kind === 'User' || s.kind === 'Group') return { kind: s.kind, name: s.name };
  return undefined;
}

const has = (list: string[] | undefined, ...values: string[]) => !!list?.some((v) => values.includes(v));

/** The read verbs a rule grants on Secret `name` (any Secret when `name` is undefined). */
function secretReadVerbs(rule: V1PolicyRule, name: string | undefined): ReadVerb[] {
  if (!has(rule.apiGroups, '', '*') || !has(rule.resources, 'secrets', '*')) return [];
  if (rule.resourceNames?.length && (name === undefined || !rule.resourceNames.includes(name))) return [];
  if (rule.verbs.includes('*')) return [...readVerbs];
  return readVerbs.filter((v) => rule.verbs.includes(v));
}

interface BoundRole {
  binding: string;
  bindingSystem: boolean;
  rotor: boolean;
  clusterWide: boolean;
  namespace?: string;
  role: string;
  roleSystem: boolean;
  rules: V1PolicyRule[];
  subjects: RbacV1Subject[];
}

const managedByRotor = (labels: Record<string, string> | undefined) =>
  labels?.['app.kubernetes.io/managed-by'] === 'rotor';

/** What `rotor rbac` makes (inspect/rbac.ts): a namespaced Role naming its Secrets, bound to service accounts. */
function rotorShaped(b: Omit<BoundRole, 'rotor'>): boolean {
  return (
    !b.clusterWide &&
    b.role.startsWith('Role/') &&
    b.subjects.length > 0 &&
    b.subjects.every((s) => s.kind === 'ServiceAccount') &&
    b.rules.every((r) => secretReadVerbs(r, undefined).length === 0 || (r.resourceNames?.length ?? 0) > 0)
  );
}

/** Every binding with the rules of the role it references (bindings to missing roles grant nothing). */
function boundRoles(snap: RbacSnapshot): BoundRole[] {
  const clusterRoles = new Map(snap.clusterRoles.map((r) => [r.metadata?.name ?? '', r]));
  const roles = new Map(snap.roles.map((r) => [`${r.metadata?.namespace ?? ''}/${r.metadata?.name ?? ''}`, r]));
  const out: BoundRole[] = [];
  for (const b of snap.clusterRoleBindings) {
    const role = b.roleRef.kind === 'ClusterRole' ? clusterRoles.get(b.roleRef.name) : undefined;
    if (!role) continue;
    out.push({
      binding: `ClusterRoleBinding/${b.metadata?.name ?? ''}`,
      bindingSystem: isSystemName(b.metadata?.name),
      // rotor never binds cluster-wide: a ClusterRoleBinding is nobody's "rotor" grant, whatever its labels.
      rotor: false,
      clusterWide: true,
      role: `ClusterRole/${b.roleRef.name}`,
      roleSystem: isSystemName(b.roleRef.name),
      rules: role.rules ?? [],
      subjects: b.subjects ?? [],
    });
  }
  for (const b of snap.roleBindings) {
    const ns = b.metadata?.namespace ?? '';
    const role =
      b.roleRef.kind === 'ClusterRole' ? clusterRoles.get(b.roleRef.name) : roles.get(`${ns}/${b.roleRef.name}`);
    if (!role) continue;
    const bound = {
      binding: `RoleBinding/${ns}/${b.metadata?.name ?? ''}`,
      bindingSystem: isSystemName(b.metadata?.name),
      clusterWide: false,
      namespace: ns,
      role: b.roleRef.kind === 'ClusterRole' ? `ClusterRole/${b.roleRef.name}` : `Role/${ns}/${b.roleRef.name}`,
      roleSystem: isSystemName(b.roleRef.name),
      rules: role.rules ?? [],
      subjects: b.subjects ?? [],
    };
    out.push({ ...bound, rotor: managedByRotor(b.metadata?.labels) && rotorShaped(bound) });
  }
  return out;
}

function grantsOf(b: BoundRole, verbs: Set<ReadVerb>, scope: GrantScope): SecretGrant[] {
  if (!verbs.size) return [];
  return b.subjects.flatMap((s) => {
    const identity = identityOf(s, b.namespace);
    if (!identity) return [];
    return [
      {
        identity,
        verbs: readVerbs.filter((v) => verbs.has(v)),
        scope,
        binding: b.binding,
        role: b.role,
        // A system-named binding or role granting Secrets to everyone is no control-plane machinery.
        system: !isBroadIdentity(identity) && (b.bindingSystem || b.roleSystem || isSystemIdentity(identity)),
        rotor: b.rotor && identity.kind === 'ServiceAccount',
        broad: isBroadIdentity(identity),
      },
    ];
  });
}

/**
 * Every binding that lets an identity get, list or watch Secret `namespace/name`, from the RBAC
 * objects alone (resourceNames respected). Other authorizers are not seen here; callers confirm
 * with SubjectAccessReview.
 */
export function secretReaders(snap: RbacSnapshot, namespace: string, name: string): SecretGrant[] {
  return boundRoles(snap)
    .filter((b) => b.clusterWide || b.namespace === namespace)
    .flatMap((b) => {
      const named = new Set<ReadVerb>();
      const broad = new Set<ReadVerb>();
      for (const rule of b.rules) {
        const target = rule.resourceNames?.length ? named : broad;
        for (const v of secretReadVerbs(rule, name)) target.add(v);
      }
      for (const v of broad) named.delete(v);
      return [...grantsOf(b, broad, b.clusterWide ? 'cluster' : 'namespace'), ...grantsOf(b, named, 'name')];
    });
}

/**
 * Grants of get/list/watch on every Secret (no resourceNames): cluster-wide through a
 * ClusterRoleBinding, or namespace-wide through a RoleBinding in one of `namespaces`.
 */
export function broadSecretGrants(snap: RbacSnapshot, namespaces: string[]): SecretGrant[] {
  return boundRoles(snap)
    .filter((b) => b.clusterWide || namespaces.includes(b.namespace ?? ''))
    .flatMap((b) => {
      const verbs = new Set<ReadVerb>();
      for (const rule of b.rules)
        if (!rule.resourceNames?.length) for (const v of secretReadVerbs(rule, undefined)) verbs.add(v);
      return grantsOf(b, verbs, b.clusterWide ? 'cluster' : 'namespace');
    });
}

/** A binding that grants `escalate` or `bind` on roles, letting its subjects grant themselves more. */
export interface EscalationGrant {
  identity: Identity;
  verbs: string[];
  binding: string;
  role: string;
}

const rbacResources = ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'];

/**
 * Non-system subjects bound to a role granting `escalate` or `bind` (or `*`) on RBAC objects.
 * System roles and bindings, `system:` subjects and the built-in `cluster-admin` role (whose
 * holders are admins by definition) are left out.
 */
export function escalationGrants(snap: RbacSnapshot): EscalationGrant[] {
  return boundRoles(snap)
    .filter((b) => !b.bindingSystem && !b.roleSystem && b.role !== 'ClusterRole/cluster-admin')
    .flatMap((b) => {
      const verbs = new Set<string>();
      for (const rule of b.rules) {
        if (!has(rule.apiGroups, 'rbac.authorization.k8s.io', '*') || !has(rule.resources, ...rbacResources, '*'))
          continue;
        for (const v of rule.verbs) if (v === 'escalate' || v === 'bind' || v === '*') verbs.add(v);
      }
      if (!verbs.size) return [];
      return b.subjects.flatMap((s) => {
        const identity = identityOf(s, b.namespace);
        if (!identity || isSystemIdentity(identity)) return [];
        return [{ identity, verbs: [...verbs].sort(), binding: b.binding, role: b.role }];
      });
    });
}
