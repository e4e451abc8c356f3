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

/**
 * A Vault path (or part of one) rotor will hand to the backend verbatim: no empty, `.` or `..`
 * segments, as written or percent-decoded, and no malformed percent-encoding. Vault decodes the
 * URL path before routing, so `apps/payments/%2e%2e/orders/db` is `apps/orders/db` to it; decoding
 * repeats until nothing changes, so `%252e` hides no dot either. A path this accepts stays, once
 * decoded, under every plain (unencoded) prefix {@link underPrefix} puts it under.
 */
export function isCanonicalPath(path: string): boolean {
  let p: string | undefined = path;
  let previous: string | undefined;
  // Each round that decodes anything makes p shorter, so the loop ends.
  while (p !== previous) {
    if (p === undefined || !p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..')) return false;
    previous = p;
    p = percentDecoded(p);
  }
  return true;
}

/** `path` with percent-encoding decoded once; undefined when it is malformed (`%zz`, a lone `%`). */
function percentDecoded(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
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

/** The account inside a Secrets Manager ARN, if the id is one. */
export function awsSecretAccount(secretId: string): string | undefined {
  return /^arn:[^:]+:secretsmanager:[^:]*:([^:]*):secret:/.exec(secretId)?.[1];
}

/**
 * True when the secret name is `prefix` or below it by whole `/` segments: `team` and `team/` both
 * allow `team/x`, neither allows `teamx` (another team's name that merely starts alike).
 */
export function underSecretPrefix(name: string, prefix: string): boolean {
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return name === base || name.startsWith(`${base}/`);
}

/** The region inside a Secrets Manager ARN, if the id is one. */
export function awsSecretRegion(secretId: string): string | undefined {
  return /^arn:[^:]+:secretsmanager:([^:]+):/.exec(secretId)?.[1];
}
