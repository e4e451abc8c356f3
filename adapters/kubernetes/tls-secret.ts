/**
 * The `kubernetes.io/tls` layout of a `vault-pki-certificate` Secret: besides rotor's dual-read
 * keys (the stored values), `tls.crt`, `tls.key` and `ca.crt` of the current version, the keys
 * TLS servers (Ingress controllers, sidecars, anything reading the standard layout) serve from.
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { ClusterVersions } from '../../core/contracts';
import { ErrorTypes, permanent } from '../../core/failures';
import { parseCertificateBundle, tlsSecretData } from '../credentials/vault-pki-value';

/** The keys a TLS Secret serves from. */
export const tlsKeys = ['tls.crt', 'tls.key', 'ca.crt'] as const;

/** The `tls.*` data of the current value (base64), or nothing for an Opaque Secret. */
export function tlsDataOf(versions: ClusterVersions, current: string, where: string): Record<string, string> {
  if (!versions.secretType) return {};
  let data: Record<string, string>;
  try {
    data = tlsSecretData(parseCertificateBundle(current, `the current version ${versions.current.version}`));
  } catch (e) {
    throw permanent(ErrorTypes.invalidInput, `${where}: ${(e as Error).message}`);
  }
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
}

/**
 * What is wrong with a TLS Secret's layout, given its dual-read `currentKey` already holds the
 * current version: its type, or a `tls.*` key that does not hold what that version serves. Empty
 * when right, or when the Secret is Opaque by design.
 */
export function tlsLayoutProblems(secret: V1Secret, v: ClusterVersions): string[] {
  if (!v.secretType) return [];
  if (secret.type !== v.secretType) return [`type ${secret.type ?? 'Opaque'}, expected ${v.secretType}`];
  const current = secret.data?.[v.currentKey];
  if (current === undefined) return [];
  let expected: Record<string, string>;
  try {
    expected = tlsDataOf(v, Buffer.from(current, 'base64').toString('utf8'), 'secret');
  } catch {
    return [`${v.currentKey}: not a certificate bundle`];
  }
  return tlsKeys.filter((k) => secret.data?.[k] !== expected[k]).map((k) => `${k}: does not serve the current version`);
}
