import { createHash } from 'node:crypto';
import type NodeVault from 'node-vault';
import type { Credential } from '../../core/playbook/schema';
import type { JwksTarget } from '../../core/playbook/jwks-targets';
import type { RotationRef } from '../../core/contracts';
import { ErrorTypes, permanent } from '../../core/failures';
import type { RevocationEvidence } from '../../core/status';
import type { KubeClients } from '../kubernetes/clients';
import { describeConfigMapKey, readConfigMapKey, updateConfigMapKey } from '../kubernetes/configmap-key';
import type { ConfigMapKey } from '../kubernetes/configmap-key';
import type { CredentialKind } from './kind';
import { bundleCerts, bundleText, parseCaCert, withCert, withoutCert } from './vault-pki-ca-pem';
import type { Cert } from './vault-pki-ca-pem';
import { leavesStillServed } from './vault-pki-ca-served';
import { pkiMount } from './vault-pki-ca-vault';
import type { Issuer, PkiMount } from './vault-pki-ca-vault';

type PkiCaCredential = Extract<Credential, { kind: 'vault-pki-ca-rollover' }>;

/** The name of the issuer a run makes: `<prefix>-` and 12 hex digits of its run, so a retried create finds it. */
export function issuerNameFor(p: PkiCaCredential, rotation: RotationRef): string {
  const h = createHash('sha256').update(`${rotation.workflowId}/${rotation.runId}`).digest('hex');
  return `${p.issuerPrefix}-${h.slice(0, 12)}`;
}

/** The bundle targets rotor resolved from `spec.clusters` when it read the playbook. */
export function bundleTargetsOf(p: PkiCaCredential): JwksTarget[] {
  const targets = p.bundle.targets ?? [];
  if (targets.length === 0)
    throw permanent(
      ErrorTypes.invalidInput,
      'spec.credential.bundle.targets is empty: a vault-pki-ca-rollover publishes its trust bundle in the clusters of the playbook (spec.clusters), and there are none',
    );
  return targets;
}

const bundleAt = (p: PkiCaCredential): ConfigMapKey => ({ configMap: p.bundle.configMap, key: p.bundle.key });
const describeIssuer = (i: Issuer) => `issuer ${i.name || '(unnamed)'} (${i.id})`;

/** The issuer of `cert` in the mount; it must exist and carry the playbook's prefix, or nothing is changed. */
async function ownedIssuer(pki: PkiMount, p: PkiCaCredential, cert: Cert, what: string): Promise<Issuer> {
  const issuer = await pki.issuerOf(cert);
  if (!issuer)
    throw permanent(
      ErrorTypes.invalidInput,
      `vault: ${what} (${cert.fingerprint}, serial ${cert.serial}) is not an issuer of mount ${p.mount}; fix the store's value or spec.credential.mount`,
    );
  if (!issuer.name.startsWith(`${p.issuerPrefix}-`))
    throw permanent(
      ErrorTypes.invalidInput,
      `vault: ${what} is ${describeIssuer(issuer)} in ${p.mount}, whose name does not start with '${p.issuerPrefix}-' (spec.credential.issuerPrefix); rotor changes only issuers the playbook names, nothing was changed`,
    );
  return issuer;
}

/**
 * A CA rollover in Vault's PKI multi-issuer API (a root issuer per rotation, made and kept inside
 * Vault). The stored value is the CA's PEM certificate; the trust bundle (PEM certificates under
 * `bundle.key`, trust-manager style) lives in a ConfigMap of every cluster target.
 * - create: a new issuer named `<issuerPrefix>-<run>` (not default), then its certificate added
 *   beside the current one in every bundle; undo deletes the issuer and its key and takes the
 *   certificate out of every bundle.
 * - promote: the new issuer becomes the mount's default, so leaves come from it; demote restores
 *   the old default.
 * - stillInUse (before revoke touches anything): unexpired, unrevoked leaves of the old CA in the
 *   mount's certificate store or in `kubernetes.io/tls` Secrets of the clusters' namespaces.
 * - revoke: the old certificate leaves every bundle, the old issuer loses `issuing-certificates`
 *   (it keeps signing CRLs); proven by reading every bundle back and by Vault refusing a leaf.
 */
export function vaultPkiCaRolloverKind(deps: {
  vault: NodeVault.client;
  kube: () => KubeClients;
}): CredentialKind<PkiCaCredential> {
  const updateBundles = (p: PkiCaCredential, change: (certs: Cert[]) => Cert[], create: boolean) => {
    const kube = deps.kube();
    return Promise.all(
      bundleTargetsOf(p).map((t) =>
        updateConfigMapKey(
          kube,
          t,
          bundleAt(p),
          (text) => {
            const after = bundleText(change(bundleCerts(text)));
            // The same certificates in the same order: left as written (whitespace, comments).
            return text !== undefined && after === bundleText(bundleCerts(text)) ? text : after;
          },
          { create, what: 'trust bundle' },
        ),
      ),
    );
  };

  async function stillInUse(p: PkiCaCredential, old: Cert): Promise<string | undefined> {
    const pki = pkiMount(deps.vault, p.mount);
    const [inVault, inClusters] = await Promise.all([
      pki.liveLeavesOf(old),
      leavesStillServed(deps.kube(), bundleTargetsOf(p), old),
    ]);
    if (inVault.length === 0 && inClusters.length === 0) return undefined;
    const named = [
      ...inVault.map((l) => `vault ${p.mount} serial ${l.serial} (${l.subject}, valid until ${l.notAfter})`),
      ...inClusters,
    ];
    return `the old CA ${old.fingerprint} still has ${named.length} unexpired leaf certificate(s) in use: ${named.slice(0, 10).join('; ')}${named.length > 10 ? '; …' : ''}. Replace them with leaves of the new default issuer and revoke the old ones in Vault (or wait until they expire), then retry`;
  }

  return {
    async create(p, { currentValue, rotation }) {
      const current = parseCaCert(currentValue, 'the current value');
      const pki = pkiMount(deps.vault, p.mount);
      const old = await ownedIssuer(pki, p, current, 'the current CA');
      const name = issuerNameFor(p, rotation);
      // A retried create finds the issuer an earlier attempt made.
      if (!(await pki.issuerNamed(name))) {
        await pki.generateRoot({
          name,
          commonName: p.commonName,
          keyType: p.keyType,
          ttlSeconds: Math.floor(p.ttl / 1000),
        });
      }
      // Made, not promoted: a mount whose default follows the newest issuer gets the old one back.
      const made = await pki.issuerNamed(name);
      if (made?.isDefault) await pki.setDefault(old.id);
      const next = parseCaCert(await pki.certificateOf(name), `the certificate of ${p.mount}/issuer/${name}`);
      // Every bundle trusts both before the value is stored: no leaf of the new CA exists yet.
      await updateBundles(p, (certs) => withCert(withCert(certs, current), next), true);
      return `${next.pem}\n`;
    },

    async discard(p, { pendingValue, currentValue }) {
      const pending = parseCaCert(pendingValue, 'the pending value');
      const current = parseCaCert(currentValue, 'the current value');
      if (pending.fingerprint === current.fingerprint) return;
      const pki = pkiMount(deps.vault, p.mount);
      const issuer = await pki.issuerOf(pending);
      if (issuer) {
        await ownedIssuer(pki, p, pending, 'the pending CA');
        if (issuer.isDefault) await pki.setDefault((await ownedIssuer(pki, p, current, 'the current CA')).id);
        await pki.deleteIssuer(issuer);
      }
      await updateBundles(p, (certs) => withoutCert(certs, pending), false);
    },

    async promote(p, { pendingValue }) {
      const pki = pkiMount(deps.vault, p.mount);
      const next = await ownedIssuer(pki, p, parseCaCert(pendingValue, 'the pending value'), 'the new CA');
      if (!next.isDefault) await pki.setDefault(next.id);
    },

    async demote(p, { currentValue }) {
      const pki = pkiMount(deps.vault, p.mount);
      const old = await ownedIssuer(pki, p, parseCaCert(currentValue, 'the current value'), 'the old CA');
      if (!old.isDefault) await pki.setDefault(old.id);
    },

    async stillInUse(p, { oldValue, currentValue }) {
      const old = parseCaCert(oldValue, 'the old value');
      if (old.fingerprint === parseCaCert(currentValue, 'the current value').fingerprint) return undefined;
      return stillInUse(p, old);
    },

    async revoke(p, { oldValue, currentValue }): Promise<RevocationEvidence> {
      const old = parseCaCert(oldValue, 'the old value');
      const current = parseCaCert(currentValue, 'the current value');
      if (old.fingerprint === current.fingerprint)
        return {
          rejected: false,
          detail: `old and current values are the same CA (${old.fingerprint}); not dropping the CA in use`,
        };
      const inUse = await stillInUse(p, old);
      if (inUse) return { rejected: false, detail: inUse };
      const pki = pkiMount(deps.vault, p.mount);
      const issuer = await ownedIssuer(pki, p, old, 'the old CA');
      if (issuer.isDefault)
        return {
          rejected: false,
          detail: `${describeIssuer(issuer)} is still the default issuer of ${p.mount}; promote did not take`,
        };
      await updateBundles(p, (certs) => withoutCert(certs, old), false);
      const usage = await pki.usageOf(issuer.id);
      if (usage.includes('issuing-certificates'))
        await pki.setUsage(
          issuer.id,
          usage.filter((u) => u !== 'issuing-certificates'),
        );
      return proveDropped(p, pki, issuer, old, current, deps.kube());
    },
  };
}

/** The proof: every bundle read back through its apiserver, and the old issuer asked for a leaf. */
async function proveDropped(
  p: PkiCaCredential,
  pki: PkiMount,
  issuer: Issuer,
  old: Cert,
  current: Cert,
  kube: KubeClients,
): Promise<RevocationEvidence> {
  const at = bundleAt(p);
  const bundles = await Promise.all(
    bundleTargetsOf(p).map(async (t) => {
      const where = describeConfigMapKey(t, at);
      const read = await readConfigMapKey(kube, t, at);
      if (!read.exists)
        return { ok: true, line: `${where}: WARNING: the ConfigMap does not exist (deleted by someone else)` };
      const fps = bundleCerts(read.text).map((c) => c.fingerprint);
      const oldGone = !fps.includes(old.fingerprint);
      const currentThere = fps.includes(current.fingerprint);
      return {
        ok: oldGone,
        line: `${where}: ${oldGone ? `old CA ${old.fingerprint} absent` : `old CA ${old.fingerprint} STILL PRESENT`}, ${currentThere ? `current CA ${current.fingerprint} present` : `WARNING: current CA ${current.fingerprint} missing`} (${fps.length} certificate(s))`,
      };
    }),
  );
  const usage = await pki.usageOf(issuer.id);
  const attempt = await pki.issueFrom(issuer.id, p.leafRole, 'localhost', '1m');
  if (attempt.ok) await pki.revokeSerial(attempt.serial);
  const refused = !attempt.ok && /issuing-certificates|usage/.test(attempt.refusal);
  const issuing = usage.includes('issuing-certificates');
  const vaultLine = attempt.ok
    ? `${p.mount} ${describeIssuer(issuer)} STILL ISSUED a leaf (serial ${attempt.serial}, revoked at once); usage ${usage.join(',')}`
    : `${p.mount} ${describeIssuer(issuer)} usage ${usage.join(',')}; a leaf asked of it through role ${p.leafRole} was refused (${attempt.refusal.slice(0, 200)})`;
  return {
    rejected: bundles.every((b) => b.ok) && refused && !issuing,
    detail: `trust bundles of ${bundles.length} cluster target(s) read back: ${bundles.map((b) => b.line).join(' | ')}; ${vaultLine}`,
  };
}
