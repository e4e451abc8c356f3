import type { V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { esoGroup, managedByLabel } from '../core/ids';
import type { ClusterTarget, Playbook } from '../core/playbook/schema';
import { podPatchPolicy } from './pod-patch-policy';
import type { PodPatchPolicy } from './pod-patch-policy';

export interface RbacSubject {
  /** ServiceAccount the worker runs as in each cluster (or authenticates with). */
  serviceAccount: string;
  namespace: string;
}

export interface ClusterRbac {
  cluster: string;
  context: string;
  role: V1Role;
  binding: V1RoleBinding;
  /** With the consumer gate: the cluster-wide admission policy that narrows `patch` on pods to the resync annotation. */
  podPatchPolicy?: PodPatchPolicy;
}

/**
 * The least rotor needs in one cluster: only the verbs it uses, only on the named objects. Never
 * `list` on Secrets (rotor reads its one Secret with get+watch by name); `list` on ExternalSecrets
 * only when the playbook does not name them and rotor has to discover them by target.
 */
export function rulesFor(c: ClusterTarget, gate = true): V1PolicyRule[] {
  const rules: V1PolicyRule[] = [];
  const secret = { apiGroups: [''], resources: ['secrets'], resourceNames: [c.secretName] };
  if (c.delivery === 'push') {
    // Server-side apply is a patch; applying a Secret that does not exist yet also needs create.
    rules.push({ ...secret, verbs: ['get', 'watch', 'patch', 'create'] });
  } else {
    rules.push({ ...secret, verbs: ['get', 'watch'] });
  }
  if (c.delivery === 'eso') {
    if (c.externalSecrets?.length) {
      rules.push({
        apiGroups: [esoGroup],
        resources: ['externalsecrets'],
        resourceNames: c.externalSecrets,
        verbs: ['get', 'watch', 'patch'],
      });
    } else {
      rules.push({ apiGroups: [esoGroup], resources: ['externalsecrets'], verbs: ['get', 'list', 'watch', 'patch'] });
    }
  }
  const deployments = c.workloads.filter((w) => w.kind === 'Deployment').map((w) => w.name);
  const statefulSets = c.workloads.filter((w) => w.kind === 'StatefulSet').map((w) => w.name);
  // Rollouts: patch the pod template once, then watch the rollout finish.
  if (deployments.length)
    rules.push({
      apiGroups: ['apps'],
      resources: ['deployments'],
      resourceNames: deployments,
      verbs: ['get', 'watch', 'patch'],
    });
  if (statefulSets.length)
    rules.push({
      apiGroups: ['apps'],
      resources: ['statefulsets'],
      resourceNames: statefulSets,
      verbs: ['get', 'watch', 'patch'],
    });
  // Consumers: which pods read the Secret (names and specs only) and the Deployments owning them.
  rules.push({ apiGroups: [''], resources: ['pods'], verbs: ['list'] });
  rules.push({ apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] });
  // The consumer gate: touch consumer pods (one annotation, so kubelets resync the Secret now, and
  // for a jwt-signing-key the JWKS ConfigMap of its verifiers in the same namespace) and
  // read the log of consumers that opted in to reporting what they read. RBAC cannot narrow a
  // patch to one annotation: the admission policy beside the Role does (pod-patch-policy.ts).
  if (gate) {
    rules.push({ apiGroups: [''], resources: ['pods'], verbs: ['patch'] });
    rules.push({ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] });
  }
  return rules;
}

/**
 * A `jwt-signing-key` publishes its JWKS ConfigMap in each cluster's namespace: rotor reads it,
 * replaces it (with the resourceVersion read) by name, and creates it when missing. RBAC cannot
 * narrow `create` to a name (the name is not known before the object exists), so `create` covers
 * every ConfigMap of the namespace; `get` and `update` only the JWKS one.
 */
export function jwksRulesFor(playbook: Playbook): V1PolicyRule[] {
  const cred = playbook.spec.credential;
  if (cred.kind !== 'jwt-signing-key') return [];
  return [
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [cred.jwks.configMap], verbs: ['get', 'update'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
  ];
}

/**
 * A `vault-pki-ca-rollover` keeps its trust-bundle ConfigMap as a JWKS is kept, and before revoke
 * lists the namespace's Secrets of type `kubernetes.io/tls` for leaves of the old CA: `list` on
 * Secrets cannot be narrowed to a type, so it reads every Secret of the namespace (rotor looks at
 * `tls.crt` of the TLS ones only).
 */
export function trustBundleRulesFor(playbook: Playbook): V1PolicyRule[] {
  const cred = playbook.spec.credential;
  if (cred.kind !== 'vault-pki-ca-rollover') return [];
  return [
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [cred.bundle.configMap], verbs: ['get', 'update'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['list'] },
  ];
}

/** Per cluster of the playbook, the Role and RoleBinding the rotor worker needs there. */
export function rbacFor(playbook: Playbook, subject: RbacSubject): ClusterRbac[] {
  const name = `rotor-${playbook.spec.secret.name}`;
  return playbook.spec.clusters.map((c) => ({
    cluster: c.name,
    context: c.context ?? c.name,
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: c.namespace, labels: managedByLabel },
      rules: [
        ...rulesFor(c, playbook.spec.consumerGate.enabled),
        ...jwksRulesFor(playbook),
        ...trustBundleRulesFor(playbook),
      ],
    },
    binding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: c.namespace, labels: managedByLabel },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: subject.serviceAccount, namespace: subject.namespace }],
    },
    ...(playbook.spec.consumerGate.enabled ? { podPatchPolicy: podPatchPolicy(subject) } : {}),
  }));
}
