/**
 * JWKS verifiers: pods that mount a `jwt-signing-key` playbook's JWKS ConfigMap. The consumer gate
 * resyncs them like Secret consumers, so every verifier knows a key before any signer uses it.
 * Pure rules only; kids are public and may appear in reports and messages.
 */
import type { V1Pod } from '@kubernetes/client-node';

/** Whether `pod` mounts ConfigMap `name` as a volume (directly or in a projected volume). */
export function mountsConfigMap(pod: V1Pod, name: string): boolean {
  return (pod.spec?.volumes ?? []).some(
    (v) => v.configMap?.name === name || (v.projected?.sources ?? []).some((s) => s.configMap?.name === name),
  );
}

/**
 * Whether a verifier's report shows it reads every kid in `needed`: the report maps the JWKS data
 * key to the comma-separated kids the pod's file holds (`rotor.dev/reads jwks.json=kid1,kid2`).
 */
export function judgeKids(
  reads: ReadonlyMap<string, string>,
  key: string,
  needed: readonly string[],
): { ok: boolean; why: string } {
  const shown = reads.get(key);
  if (shown === undefined) return { ok: false, why: `does not report ${key}` };
  const kids = new Set(shown.split(',').filter(Boolean));
  const missing = needed.filter((k) => !kids.has(k));
  if (missing.length > 0) return { ok: false, why: `${key} does not hold kid ${missing.join(', ')} yet` };
  return { ok: true, why: 'reads the JWKS as published' };
}
