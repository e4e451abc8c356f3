/** Path segments with `.` and `..` resolved; null when `..` climbs above the start. */
export function normalizeSegments(path: string): string[] | null {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(seg);
  }
  return out;
}

/** True when `path` is `prefix` or below it, comparing whole segments (`a/b` is not under `a/bc`). */
export function underPrefix(path: string, prefix: string): boolean {
  const p = normalizeSegments(path);
  const q = normalizeSegments(prefix);
  if (!p || !q) return false;
  return q.every((seg, i) => p[i] === seg);
}

/** A store path rotor will hand to a backend verbatim: no empty, `.` or `..` segments. */
export function isCanonicalPath(path: string): boolean {
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** `*.example.com` matches any subdomain (not the apex); anything else matches exactly, case-insensitively. */
export function hostMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p;
}

/** A pattern ending in `*` matches by prefix (`registry.example.com/payments/*`); else exactly. */
export function globMatches(value: string, pattern: string): boolean {
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/** The secret name of a Secrets Manager ARN (`arn:…:secret:<name>`), or the id itself. */
export function awsSecretName(secretId: string): string {
  const m = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(secretId);
  return m?.[1] ?? secretId;
}

/** The region inside a Secrets Manager ARN, if the id is one. */
export function awsSecretRegion(secretId: string): string | undefined {
  return /^arn:[^:]+:secretsmanager:([^:]+):/.exec(secretId)?.[1];
}
