import type { z } from 'zod';
import { formatDuration } from './duration';

/** The parts of a parsed playbook the cross-field rules read. */
interface Checked {
  spec: {
    clusters: {
      name: string;
      context?: string | undefined;
      namespace: string;
      secretName: string;
      delivery: string;
    }[];
    waves?: string[][] | undefined;
    dualRead: { currentKey: string; otherKey: string };
    canaries: { name: string }[];
    schedule?: { every: number; jitter: number } | undefined;
    credential: { kind: string; maxTokenLifetime?: number };
    soak: number;
  };
}

/** Reports each later entry whose key an earlier one already had, at `path(index)`. */
function duplicates<T>(
  items: readonly T[],
  key: (t: T) => string,
  report: (index: number, first: number) => void,
): void {
  const seen = new Map<string, number>();
  items.forEach((t, i) => {
    const k = key(t);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else report(i, first);
  });
}

/** Rules across fields: each problem names the field's path and what to write instead. */
export function crossCheck(p: Checked, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const clusters = p.spec.clusters.map((c) => c.name);
  duplicates(
    p.spec.clusters,
    (c) => c.name,
    (i, first) =>
      issue(
        ['spec', 'clusters', i, 'name'],
        `cluster '${clusters[i] ?? ''}' is listed twice (also clusters[${first}]); give each entry its own name`,
      ),
  );
  const waved = new Set<string>();
  p.spec.waves?.forEach((wave, w) =>
    wave.forEach((c, i) => {
      if (!clusters.includes(c)) {
        issue(
          ['spec', 'waves', w, i],
          `'${c}' is not a cluster of spec.clusters; write one of: ${clusters.join(', ')}`,
        );
      }
      if (waved.has(c)) issue(['spec', 'waves', w, i], `'${c}' is in more than one wave; keep it in one`);
      waved.add(c);
    }),
  );
  if (p.spec.waves) {
    for (const c of clusters.filter((c) => !waved.has(c))) {
      issue(['spec', 'waves'], `cluster '${c}' is in no wave; add it to one`);
    }
  }
  if (p.spec.dualRead.currentKey === p.spec.dualRead.otherKey) {
    issue(['spec', 'dualRead', 'otherKey'], 'must differ from currentKey; write e.g. value-other');
  }
  // Two entries writing one Secret would fight over it, and their undos would undo each other.
  // Entries with a repeated name are reported above already.
  const named = p.spec.clusters.map((c, at) => ({ c, at })).filter(({ c, at }) => clusters.indexOf(c.name) === at);
  duplicates(
    named,
    ({ c }) => JSON.stringify([c.context ?? c.name, c.namespace, c.secretName]),
    (i, first) =>
      issue(
        ['spec', 'clusters', named[i]?.at ?? i, 'secretName'],
        `clusters[${named[first]?.at ?? first}] already delivers to this context, namespace and Secret; remove this entry or name another secretName`,
      ),
  );
  duplicates(
    p.spec.canaries,
    (c) => c.name,
    (i, first) =>
      issue(
        ['spec', 'canaries', i, 'name'],
        `canaries[${first}] already has the name '${p.spec.canaries[i]?.name ?? ''}'; give each canary its own name`,
      ),
  );
  jwtSigningKeyChecks(p, issue);
  tlsCertificateChecks(p, issue);
  if (p.spec.credential.kind === 'vault-pki-ca-rollover' && p.spec.clusters.length === 0)
    issue(
      ['spec', 'clusters'],
      'a vault-pki-ca-rollover publishes its trust bundle ConfigMap in every cluster of the playbook; give at least one cluster',
    );
  const schedule = p.spec.schedule;
  if (schedule && schedule.every > 0 && schedule.jitter >= schedule.every) {
    issue(['spec', 'schedule', 'jitter'], 'must be shorter than schedule.every; write e.g. 1h');
  }
}

/**
 * A `jwt-signing-key` publishes its JWKS into the playbook's clusters, so it needs one; and the
 * old public key must stay published for one maximum token lifetime after signing with it stops
 * (promote), so the soak before revoke must be at least `maxTokenLifetime`.
 */
function jwtSigningKeyChecks(p: Checked, issue: (path: (string | number)[], message: string) => void): void {
  const cred = p.spec.credential;
  if (cred.kind !== 'jwt-signing-key') return;
  if (p.spec.clusters.length === 0)
    issue(
      ['spec', 'clusters'],
      'a jwt-signing-key publishes its JWKS ConfigMap in every cluster of the playbook; give at least one cluster',
    );
  const lifetime = cred.maxTokenLifetime;
  if (lifetime !== undefined && p.spec.soak < lifetime)
    issue(
      ['spec', 'soak'],
      `is ${formatDuration(p.spec.soak)}, shorter than spec.credential.maxTokenLifetime (${formatDuration(lifetime)}): tokens signed with the old key just before promote stay valid that long, so the old public key must stay published until then; write soak: ${formatDuration(lifetime)} or more`,
    );
}

/**
 * A `vault-pki-certificate` is delivered as a `kubernetes.io/tls` Secret whose `tls.crt`, `tls.key`
 * and `ca.crt` rotor derives from the stored value; External Secrets Operator would copy only the
 * stored value, so `eso` delivery is refused.
 */
function tlsCertificateChecks(p: Checked, issue: (path: (string | number)[], message: string) => void): void {
  if (p.spec.credential.kind !== 'vault-pki-certificate') return;
  p.spec.clusters.forEach((c, i) => {
    if (c.delivery === 'eso')
      issue(
        ['spec', 'clusters', i, 'delivery'],
        'a vault-pki-certificate is delivered as a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) that rotor writes itself; write delivery: push (or observe)',
      );
  });
}
