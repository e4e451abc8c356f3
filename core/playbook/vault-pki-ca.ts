/**
 * The `vault-pki-ca-rollover` credential and the `vault-pki-handshake` canary: a CA rollover in
 * Vault's PKI multi-issuer API, with a trust-manager style bundle ConfigMap in every cluster.
 */
import { z } from 'zod';
import { duration, timerDuration } from './duration';
import { secretKey, storePath, vaultName } from './fields';
import { jwksTargetsOf } from './jwks-targets';

const label = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, -), at most 63 characters')
  .describe('A lowercase DNS label (a-z, 0-9, -), at most 63 characters.');

const bundleTarget = z
  .strictObject({
    cluster: label.describe('The `spec.clusters[].name` it was taken from.'),
    context: z.string().min(1).describe('kubeconfig context of that cluster.'),
    namespace: label.describe("That cluster's namespace."),
  })
  .describe('One trust-bundle ConfigMap: a cluster context and a namespace.');

const pkiMount = storePath.describe('Mount of the PKI secrets engine, e.g. `pki-rollover`.');

/**
 * A CA rollover: the stored value is the PEM certificate of the CA (public); its private key is
 * made by Vault (`root/generate/internal`) and never leaves it.
 */
export const vaultPkiCaRolloverCredential = z
  .strictObject({
    kind: z.literal('vault-pki-ca-rollover').describe('A CA in a Vault PKI mount, rolled over with a trust bundle.'),
    mount: pkiMount,
    issuerPrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be 1-40 characters of a-z, 0-9 and -, starting with a letter or digit')
      .describe(
        "Issuer names rotor makes and touches: `<issuerPrefix>-<12 hex digits of the run>`. The old (current) issuer's name must start with `<issuerPrefix>-` too, or rotor refuses to change it.",
      ),
    commonName: z.string().min(1).max(64).describe('Common name of the new CA certificate.'),
    keyType: z.enum(['ec', 'rsa']).default('ec').describe('Key type of the new CA: `ec` (P-256) or `rsa` (2048).'),
    ttl: duration
      .refine((ms) => ms >= 3_600_000, 'must be at least 1h; write e.g. 8760h')
      .default(365 * 86_400_000)
      .describe('Validity of the new CA certificate, e.g. `8760h` (the default, 365 days).'),
    leafRole: vaultName.describe(
      'The PKI role leaves are issued with (`<mount>/roles/<leafRole>`): the revocation proof asks the old issuer for a leaf through it and expects a refusal.',
    ),
    bundle: z
      .strictObject({
        configMap: label.describe(
          "The trust-bundle ConfigMap in each cluster target's namespace; created when missing.",
        ),
        key: secretKey.default('ca.crt').describe('ConfigMap data key holding the PEM bundle.'),
        targets: z
          .array(bundleTarget)
          .optional()
          .describe(
            'Filled in by rotor when the playbook is read: one per distinct context and namespace of `spec.clusters`. Anything written here is replaced.',
          ),
      })
      .describe('The trust bundle TLS clients read (trust-manager style), published in every cluster of the playbook.'),
  })
  .describe(
    "A CA rollover in Vault's PKI multi-issuer API. Create generates a new root issuer (not default) and adds its certificate to the trust-bundle ConfigMap of every cluster; promote makes it the mount's default issuer; revoke waits until no unexpired, unrevoked leaf of the old issuer is in Vault or in a `kubernetes.io/tls` Secret of the clusters, removes the old CA from every bundle, takes `issuing-certificates` from the old issuer and proves both. The stored value is the CA's PEM certificate.",
  );

/** A TLS handshake with a leaf from the new issuer, verified with a published trust bundle. */
export const vaultPkiHandshakeCanary = z
  .strictObject({
    type: z
      .literal('vault-pki-handshake')
      .describe('A TLS handshake with a short-lived leaf from the new CA, verified with the published bundle.'),
    name: label.describe('Name of the check, unique in the playbook.'),
    mount: pkiMount,
    role: vaultName.describe('PKI role the test leaf is issued with (`<mount>/issuer/<new>/issue/<role>`).'),
    commonName: z.string().min(1).default('localhost').describe('Common name (and server name) of the test leaf.'),
    cluster: z.string().min(1).describe('kubeconfig context of the cluster whose bundle ConfigMap is read.'),
    namespace: label.describe('Namespace of the ConfigMap.'),
    configMap: label.describe("The trust-bundle ConfigMap (a `vault-pki-ca-rollover` playbook's `bundle.configMap`)."),
    key: secretKey.default('ca.crt').describe('ConfigMap data key holding the PEM bundle.'),
    timeout: timerDuration().default(10_000).describe('How long the check may take.'),
  })
  .describe(
    "Issues a 5-minute leaf from the issuer whose certificate is the credential, serves it on a loopback TLS listener and completes a handshake verified with the bundle as published in `cluster`'s ConfigMap; revokes the leaf afterwards.",
  );

interface Resolvable {
  spec: {
    credential: { kind: string; bundle?: { targets?: z.output<typeof bundleTarget>[] | undefined } };
    clusters: { name: string; context?: string | undefined; namespace: string }[];
  };
}

/**
 * A parsed playbook whose `vault-pki-ca-rollover` credential carries `bundle.targets` resolved
 * from `spec.clusters` (anything written there is replaced), as `jwks.targets` are for JWKS.
 */
export function withBundleTargets<P extends Resolvable>(p: P): P {
  const cred = p.spec.credential;
  if (cred.kind !== 'vault-pki-ca-rollover' || !cred.bundle) return p;
  const bundle = { ...cred.bundle, targets: jwksTargetsOf(p.spec.clusters) };
  return { ...p, spec: { ...p.spec, credential: { ...cred, bundle } } };
}
