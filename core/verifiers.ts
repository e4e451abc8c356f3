/**
 * Readers of a published ConfigMap: pods that mount a `jwt-signing-key` playbook's JWKS (verifiers)
 * or a `vault-pki-ca-rollover`'s trust bundle. The consumer gate resyncs them like Secret
 * consumers, so every verifier knows a key before any signer uses it, and every client trusts a CA
 * before any server presents a leaf of it. Pure rules only; kids and CA fingerprints are public and
 * may appear in reports and messages.
 */
import type { V1Pod } from '@kubernetes/client-node';

/** Whether `pod` mounts ConfigMap `name` as a volume (directly or in a projected volume). */
export function mountsConfigMap(pod: V1Pod, name: string): boolean {
  return (pod.spec?.volumes ?? []).some(
    (v) => v.configMap?.name === name || (v.projected?.sources ?? []).some((s) => s.configMap?.name === name),
  );
}

/**
 * Whether a reader's report shows it reads every id in `needed` (kids of a JWKS, fingerprints of a
 * trust bundle's CAs): the report maps the ConfigMap's data key to the comma-separated ids the
 * pod's file holds (`rotor.dev/reads jwks.json=kid1,kid2`, `rotor.dev/reads ca.crt=sha256:…,sha256:…`).
 */
export function judgeReaderIds(
  reads: ReadonlyMap<string, string>,
  key: string,
  holds: 'kid' | 'CA',
  needed: readonly string[],
): { ok: boolean; why: string } {
  const shown = reads.get(key);
  if (shown === undefined) return { ok: false, why: `does not report ${key}` };
  const ids = new Set(shown.split(',').filter(Boolean));
  const missing = needed.filter((k) => !ids.has(k));
  if (missing.length > 0) return { ok: false, why: `${key} does not hold ${holds} ${missing.join(', ')} yet` };
  return { ok: true, why: `reads the ${holds === 'kid' ? 'JWKS' : 'trust bundle'} as published` };
}

/** How the gate names a reader pod while it waits for it. */
export const readerRole = (holds: 'kid' | 'CA'): string => (holds === 'kid' ? 'verifier' : 'trust-bundle reader');
