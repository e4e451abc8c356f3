/**
 * Pure check of a kube-apiserver EncryptionConfiguration (apiserver.config.k8s.io/v1) for how
 * Secrets are stored in etcd. The file holds key material: nothing from a provider's `keys` or
 * `secret` fields is ever copied into a finding.
 */
import { parse } from 'yaml';
import { z } from 'zod';
import type { Finding } from './findings';

const providerSchema = z
  .object({
    identity: z.object({}).passthrough().optional(),
    aescbc: z.object({}).passthrough().optional(),
    aesgcm: z.object({}).passthrough().optional(),
    secretbox: z.object({}).passthrough().optional(),
    kms: z.object({ apiVersion: z.string().optional(), name: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();

const configSchema = z.object({
  apiVersion: z.string().refine((v) => v.startsWith('apiserver.config.k8s.io/'), {
    message: 'must be apiserver.config.k8s.io/v1',
  }),
  kind: z.literal('EncryptionConfiguration'),
  resources: z.array(z.object({ resources: z.array(z.string()).min(1), providers: z.array(providerSchema).min(1) })),
});

/** Thrown for a file that is not an EncryptionConfiguration; the message names the field. */
export class EncryptionConfigError extends Error {}

type Provider = z.infer<typeof providerSchema>;
const providerKinds = ['identity', 'aescbc', 'aesgcm', 'secretbox', 'kms'] as const;
const kindOf = (p: Provider): string => providerKinds.find((k) => p[k] !== undefined) ?? Object.keys(p)[0] ?? '?';

/** Whether a `resources` entry covers core-group Secrets (`secrets`, `*.` or `*.*`). */
const coversSecrets = (names: string[]) => names.some((n) => n === 'secrets' || n === '*.' || n === '*.*');

/**
 * Findings for how `file`'s configuration stores Secrets. The first resources entry that covers
 * Secrets decides; within it the first provider encrypts new writes, the others only decrypt.
 */
export function checkEncryptionConfig(text: string, file: string): Finding[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new EncryptionConfigError(`${file}: not YAML: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new EncryptionConfigError(`${file}: not an EncryptionConfiguration: ${problems.join('; ')}`);
  }
  const resource = `EncryptionConfiguration ${file}`;
  const entry = parsed.data.resources.find((r) => coversSecrets(r.resources));
  const at = (severity: Finding['severity'], check: string, problem: string, fix: string): Finding => ({
    severity,
    check,
    cluster: '-',
    resource,
    problem,
    fix,
  });
  if (!entry) {
    return [
      at(
        'high',
        'encryption-not-covered',
        'no resources entry covers secrets: Secrets are stored in etcd in plain text',
        'add a resources entry `resources: [secrets]` whose first provider is kms (apiVersion: v2), then rewrite every Secret (kubectl get secrets -A -o json | kubectl replace -f -)',
      ),
    ];
  }
  const kinds = entry.providers.map(kindOf);
  const first = entry.providers[0] as Provider;
  const findings: Finding[] = [];
  const order = kinds.join(' → ');
  if (kinds[0] === 'identity') {
    findings.push(
      at(
        'high',
        'encryption-identity-first',
        `providers for secrets are ${order}: identity is first, so every new or updated Secret is written in plain text${kinds.length > 1 ? ' (the providers after it only decrypt)' : ''}`,
        'move the real provider (kms v2, or secretbox/aesgcm) to the top and keep identity last only while old Secrets are rewritten; then rewrite every Secret',
      ),
    );
  } else if (kinds[0] === 'aescbc') {
    findings.push(
      at(
        'medium',
        'encryption-aescbc',
        `secrets are encrypted with aescbc (providers ${order}): not recommended, it is open to padding-oracle attacks and the key sits on the control-plane host`,
        'switch to kms with apiVersion v2 (or secretbox), keep aescbc second to read old data, then rewrite every Secret',
      ),
    );
  } else if (kinds[0] === 'aesgcm') {
    findings.push(
      at(
        'low',
        'encryption-aesgcm',
        `secrets are encrypted with aesgcm (providers ${order}): Kubernetes advises rotating its key every 200,000 writes, and the key sits on the control-plane host`,
        'prefer kms with apiVersion v2, which generates a fresh data key per apiserver start and keeps the key encryption key outside the host',
      ),
    );
  } else if (kinds[0] === 'secretbox') {
    findings.push(
      at(
        'info',
        'encryption-secretbox',
        `secrets are encrypted with secretbox (providers ${order}); the key sits in this file on the control-plane host`,
        'consider kms with apiVersion v2 so the key encryption key lives in a KMS, not beside etcd',
      ),
    );
  } else if (kinds[0] === 'kms') {
    const v = first.kms?.apiVersion ?? 'v1';
    if (v !== 'v2') {
      findings.push(
        at(
          'medium',
          'encryption-kms-v1',
          `secrets are encrypted with KMS ${v} (plugin ${first.kms?.name ?? '?'}): KMS v1 is deprecated and disabled by default since Kubernetes 1.29, and calls the KMS on every read`,
          'migrate to a KMS v2 plugin (apiVersion: v2), keep the v1 provider second until every Secret was rewritten',
        ),
      );
    } else {
      findings.push(
        at(
          'info',
          'encryption-kms-v2',
          `secrets are encrypted with KMS v2 (plugin ${first.kms?.name ?? '?'}): the recommended provider`,
          'nothing to fix; check the plugin is healthy (apiserver /healthz/kms-providers)',
        ),
      );
    }
  }
  if (kinds[0] !== 'identity' && kinds.includes('identity'))
    findings.push(
      at(
        'info',
        'encryption-identity-fallback',
        'identity is listed after the real provider: Secrets written before encryption was enabled are still readable in plain text until rewritten',
        'rewrite every Secret (kubectl get secrets -A -o json | kubectl replace -f -), then remove identity',
      ),
    );
  return findings;
}
