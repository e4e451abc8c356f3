import type { Playbook } from '../playbook/schema';

/** Which playbooks an incident takes: every given condition must hold (none given: all of them). */
export interface IncidentSelector {
  /** Each `key=value` must be among the playbook's `metadata.labels`. */
  labels?: Record<string, string>;
  /** The store location (`vault:<mount>/<path>` or `aws:<secretId>`, or the part after the colon) starts with this. */
  store?: string;
  /** The playbook delivers to this cluster (name or kubeconfig context). */
  cluster?: string;
}

/** The store location as the `--store` prefix is matched against: `vault:<mount>/<path>` or `aws:<secretId>`. */
export function storeLocation(playbook: Playbook): string {
  const s = playbook.spec.secret.store;
  return s.type === 'vault' ? `vault:${s.mount}/${s.path}` : `aws:${s.secretId}`;
}

/** Parses `k=v,k2=v2`; the error names the malformed pair. */
export function parseLabelSelector(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').map((p) => p.trim())) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--selector: '${pair}' is not key=value (write e.g. team=payments,tier=prod)`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

/** Whether `playbook` matches every condition of `selector`. */
export function selects(selector: IncidentSelector, playbook: Playbook): boolean {
  const labels = playbook.metadata.labels ?? {};
  if (selector.labels && Object.entries(selector.labels).some(([k, v]) => labels[k] !== v)) return false;
  if (selector.store !== undefined) {
    const location = storeLocation(playbook);
    const bare = location.slice(location.indexOf(':') + 1);
    if (!location.startsWith(selector.store) && !bare.startsWith(selector.store)) return false;
  }
  if (
    selector.cluster !== undefined &&
    !playbook.spec.clusters.some((c) => c.name === selector.cluster || c.context === selector.cluster)
  )
    return false;
  return true;
}

/** The selector in words, for the incident's status and report. */
export function describeSelector(selector: IncidentSelector): string {
  const parts = [
    ...(selector.labels
      ? [
          `labels ${Object.entries(selector.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}`,
        ]
      : []),
    ...(selector.store !== undefined ? [`store ${selector.store}*`] : []),
    ...(selector.cluster !== undefined ? [`cluster ${selector.cluster}`] : []),
  ];
  return parts.length ? parts.join(' and ') : 'every playbook';
}
