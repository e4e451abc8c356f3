/** The JWKS ConfigMaps of a `jwt-signing-key` playbook, resolved from its clusters. */

/** One JWKS ConfigMap location: the cluster entry it comes from, its kubeconfig context and namespace. */
export interface JwksTarget {
  cluster: string;
  context: string;
  namespace: string;
}

/** The parts of a parsed playbook the resolution reads and writes. */
interface Resolvable {
  spec: {
    credential: { kind: string; jwks?: { targets?: JwksTarget[] | undefined } };
    clusters: { name: string; context?: string | undefined; namespace: string }[];
  };
}

/**
 * One target per distinct context and namespace of `clusters`, in their order: two entries serving
 * two Secrets in one namespace share one ConfigMap.
 */
export function jwksTargetsOf(clusters: Resolvable['spec']['clusters']): JwksTarget[] {
  const seen = new Set<string>();
  const targets: JwksTarget[] = [];
  for (const c of clusters) {
    const context = c.context ?? c.name;
    const key = JSON.stringify([context, c.namespace]);
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push({ cluster: c.name, context, namespace: c.namespace });
  }
  return targets;
}

/**
 * A parsed playbook whose `jwt-signing-key` credential carries `jwks.targets` resolved from
 * `spec.clusters` (anything written there is replaced), so the steps that reach only the
 * credential (create, undo, revoke) know every cluster, and the admission grant over the
 * credential covers them. Other kinds pass through unchanged.
 */
export function withJwksTargets<P extends Resolvable>(p: P): P {
  const cred = p.spec.credential;
  if (cred.kind !== 'jwt-signing-key' || !cred.jwks) return p;
  const jwks = { ...cred.jwks, targets: jwksTargetsOf(p.spec.clusters) };
  return { ...p, spec: { ...p.spec, credential: { ...cred, jwks } } };
}
