import type { ClusterTarget, Playbook } from '../core/playbook/schema';

/** Clusters grouped into the playbook's waves (one wave with every cluster when none are given). */
export function wavesOf(spec: Playbook['spec']): ClusterTarget[][] {
  const byName = new Map(spec.clusters.map((c) => [c.name, c]));
  const waves = spec.waves ?? [spec.clusters.map((c) => c.name)];
  return waves
    .map((w) => w.map((n) => byName.get(n)).filter((c): c is ClusterTarget => c !== undefined))
    .filter((w) => w.length > 0);
}
