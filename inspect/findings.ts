/**
 * What `rotor doctor` reports: findings with a severity and a fix, and what it could not see.
 * Names and settings only: never a Secret's value or key material from a file.
 */

/** `high` fails a CI job (exit 4); the others are advice. */
export type Severity = 'high' | 'medium' | 'low' | 'info';
export const severities: Severity[] = ['high', 'medium', 'low', 'info'];

export interface Finding {
  severity: Severity;
  /** Stable id of the check, e.g. `env-consumer`, `rbac-broad-secrets`. */
  check: string;
  /** Playbook cluster name, or `-` for checks outside a cluster. */
  cluster: string;
  /** The rotated secret the finding is about, when it is about one. */
  secret?: string;
  /** `Kind/namespace/name` of the object to change. */
  resource: string;
  problem: string;
  fix: string;
}

export interface DoctorReport {
  findings: Finding[];
  /** What the API (or rotor) cannot show, so a clean report is not read as "all is well". */
  unseen: string[];
  summary: Record<Severity, number>;
}

/** Findings sorted by severity, then cluster and resource, with a count per severity. */
export function report(findings: Finding[], unseen: string[]): DoctorReport {
  const rank = (s: Severity) => severities.indexOf(s);
  const sorted = [...findings].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      a.cluster.localeCompare(b.cluster) ||
      a.resource.localeCompare(b.resource) ||
      a.check.localeCompare(b.check),
  );
  const summary = { high: 0, medium: 0, low: 0, info: 0 };
  for (const f of sorted) summary[f.severity] += 1;
  return { findings: sorted, unseen, summary };
}

/** A table for people: severity, cluster, resource and problem, with the fix on the next line. */
export function renderReport(r: DoctorReport): string {
  const lines: string[] = [];
  if (!r.findings.length) lines.push('no findings');
  else {
    const w = (k: 'cluster' | 'resource') => Math.min(48, Math.max(k.length, ...r.findings.map((f) => f[k].length)));
    const [wc, wr] = [w('cluster'), w('resource')];
    lines.push(`${'SEVERITY'.padEnd(8)}  ${'CLUSTER'.padEnd(wc)}  ${'RESOURCE'.padEnd(wr)}  PROBLEM`);
    for (const f of r.findings) {
      lines.push(
        `${f.severity.toUpperCase().padEnd(8)}  ${f.cluster.padEnd(wc)}  ${f.resource.padEnd(wr)}  ${f.secret ? `[${f.secret}] ` : ''}${f.problem}`,
      );
      lines.push(`${''.padEnd(8)}  ${''.padEnd(wc)}  ${''.padEnd(wr)}  fix: ${f.fix}`);
    }
  }
  const s = r.summary;
  lines.push('', `${s.high} high, ${s.medium} medium, ${s.low} low, ${s.info} info`);
  if (r.unseen.length) {
    lines.push('', 'not visible to rotor doctor:');
    for (const u of r.unseen) lines.push(`  - ${u}`);
  }
  return lines.join('\n');
}
