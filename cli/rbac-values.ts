import type { ClusterRbac } from '../inspect/rbac';

/** The `rbac` block of the worker chart's values (deploy/helm/rotor/values.yaml). */
export interface ChartRbacValues {
  rbac: {
    roles: { name: string; namespace: string; rules: unknown[] }[];
    admissionPolicies: { policy: unknown; binding: unknown }[];
  };
}

/**
 * What `rotor rbac` computes for one cluster, as chart values: the chart renders each Role with a
 * RoleBinding to its own ServiceAccount, and each admission policy as it is. Playbooks share one
 * admission policy per ServiceAccount, so it appears once. The clusters are matched by name or
 * kubeconfig context; none matching is an error naming the ones there are.
 */
export function chartRbacValues(all: ClusterRbac[], cluster: string): ChartRbacValues {
  const here = all.filter((c) => c.cluster === cluster || c.context === cluster);
  if (!here.length) {
    const known = [...new Set(all.flatMap((c) => [c.cluster, c.context]))].join(', ');
    throw new Error(`--cluster ${cluster}: no playbook delivers to it (clusters and contexts: ${known})`);
  }
  const roles = new Map<string, ChartRbacValues['rbac']['roles'][number]>();
  for (const c of here) {
    const { name = '', namespace = '' } = c.role.metadata ?? {};
    if (roles.has(`${namespace}/${name}`)) {
      throw new Error(`two playbooks need Role ${namespace}/${name} in ${cluster}: one playbook per secret name`);
    }
    roles.set(`${namespace}/${name}`, { name, namespace, rules: c.role.rules ?? [] });
  }
  const policies = new Map<string, { policy: unknown; binding: unknown }>();
  for (const c of here) {
    if (c.podPatchPolicy) policies.set(c.podPatchPolicy.policy.metadata?.name ?? '', c.podPatchPolicy);
  }
  return { rbac: { roles: [...roles.values()], admissionPolicies: [...policies.values()] } };
}
