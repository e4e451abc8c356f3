import type NodeVault from 'node-vault';
import type { Credential } from '../../core/playbook/schema';
import { ErrorTypes, permanent } from '../../core/failures';
import type { RevocationEvidence } from '../../core/status';
import { vaultFailure, vaultStatus } from '../vault-client';
import { vaultApiPath } from '../vault-path';
import type { CredentialKind } from './kind';
import { checkCrl } from './vault-pki-crl';
import { factsOf, parseCertificateBundle, pemBlocks } from './vault-pki-value';
import type { CertificateBundle } from './vault-pki-value';

type PkiCredential = Extract<Credential, { kind: 'vault-pki-certificate' }>;

/** What `<mount>/issue/<role>` answers (the fields rotor reads). */
interface Issued {
  certificate?: string;
  private_key?: string;
  issuing_ca?: string;
  ca_chain?: string[];
  serial_number?: string;
}

/** What `<mount>/cert/<serial>` answers. */
interface StoredCert {
  revocation_time?: number;
  revocation_time_rfc3339?: string;
  issuer_id?: string;
}

/** Maps a PKI engine error: a 400 (a name the role does not allow, an unknown role) is the playbook's to fix. */
function pkiFailure(e: unknown, what: string): Error {
  return vaultFailure(e, 'vault', what, {
    statuses: [400, 404],
    failure: (reason) => permanent(ErrorTypes.invalidInput, `vault: cannot ${what}: ${reason}`),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The outcome of asking Vault to revoke a serial. */
type Revoked = { state: 'revoked' | 'already revoked'; at: string } | { state: 'expired' | 'unknown'; at?: undefined };

/**
 * A TLS leaf certificate from Vault's PKI engine. Create issues a new key and certificate from
 * `<mount>/issue/<role>` (the key is made by Vault and leaves it only in the stored value); nothing
 * serves it until promote swaps the clusters' `tls.crt`/`tls.key`. Both certificates chain to the
 * same CA, so both are valid from create until revoke. Revoke revokes the old serial
 * (`<mount>/revoke`) and proves it: the CRL of the issuer that signed it is fetched, its signature
 * verified under the old certificate's CA chain and the serial looked up. Undo revokes the new
 * certificate. Serials, not-after times and SHA-256 fingerprints are public; the key never leaves
 * the value.
 */
export function vaultPkiCertificateKind(deps: {
  vault: NodeVault.client;
  /** How long revoke waits for the serial to appear on the CRL (Vault may rebuild it later); 30 s by default. */
  crlProofTimeoutMs?: number;
}): CredentialKind<PkiCredential> {
  const { vault } = deps;
  const proofTimeoutMs = deps.crlProofTimeoutMs ?? 30_000;

  async function revokeSerial(p: PkiCredential, serial: string): Promise<Revoked> {
    const stored = await readCert(p, serial);
    if (!stored) return { state: 'unknown' };
    if (stored.revocation_time) return { state: 'already revoked', at: revocationTime(stored) };
    try {
      await vault.write(vaultApiPath(p.mount, 'revoke'), { serial_number: serial });
    } catch (e) {
      // Vault refuses to revoke an expired certificate: it is refused everywhere already.
      if (vaultStatus(e) === 400 && /expired/i.test((e as Error).message)) return { state: 'expired' };
      throw pkiFailure(e, `revoke serial ${serial} at ${p.mount}/revoke`);
    }
    const after = await readCert(p, serial);
    return { state: 'revoked', at: after ? revocationTime(after) : new Date().toISOString() };
  }

  async function readCert(p: PkiCredential, serial: string): Promise<StoredCert | null> {
    try {
      return ((await vault.read(vaultApiPath(p.mount, 'cert', serial))) as { data?: StoredCert }).data ?? null;
    } catch (e) {
      if (vaultStatus(e) === 404) return null;
      throw pkiFailure(e, `read ${p.mount}/cert/${serial}`);
    }
  }

  /** The PEM CRL of the issuer that signed `serial` (the mount's default CRL when Vault does not say). */
  async function crlFor(p: PkiCredential, serial: string): Promise<{ pem: string; where: string }> {
    const issuer = (await readCert(p, serial))?.issuer_id;
    const path = issuer ? vaultApiPath(p.mount, 'issuer', issuer, 'crl') : vaultApiPath(p.mount, 'cert', 'crl');
    let res: { data?: { crl?: string; certificate?: string } };
    try {
      res = (await vault.read(path)) as typeof res;
    } catch (e) {
      throw pkiFailure(e, `read the CRL at ${path}`);
    }
    const pem = res.data?.crl ?? res.data?.certificate;
    if (!pem) throw permanent(ErrorTypes.invalidInput, `vault: ${path} returned no CRL`);
    return { pem, where: path };
  }

  return {
    secretParts(value) {
      try {
        return [parseCertificateBundle(value, 'the value').privateKey];
      } catch {
        return [value];
      }
    },

    async create(p, { currentValue }) {
      // Checked first: a store whose current value is no certificate could never be revoked later.
      parseCertificateBundle(
        currentValue,
        'the current value (for the first rotation, store a certificate bundle issued from this role: JSON {certificate, privateKey, caChain, serialNumber})',
      );
      const path = vaultApiPath(p.mount, 'issue', p.role);
      let issued: Issued | undefined;
      try {
        issued = (
          (await vault.write(path, {
            common_name: p.commonName,
            alt_names: p.altNames.join(','),
            ttl: `${Math.ceil(p.ttl / 1000)}s`,
            format: 'pem',
            private_key_format: 'pkcs8',
          })) as { data?: Issued }
        ).data;
      } catch (e) {
        throw pkiFailure(e, `issue a certificate for ${p.commonName} from ${p.mount}/issue/${p.role}`);
      }
      if (!issued?.certificate || !issued.private_key || !issued.serial_number)
        throw permanent(ErrorTypes.invalidInput, `vault: ${p.mount}/issue/${p.role} returned no certificate or key`);
      const chain = issued.ca_chain?.length ? issued.ca_chain : issued.issuing_ca ? [issued.issuing_ca] : [];
      const bundle: CertificateBundle = {
        certificate: issued.certificate,
        privateKey: issued.private_key,
        caChain: chain.join('\n'),
        serialNumber: issued.serial_number,
      };
      const value = JSON.stringify(bundle);
      // What Vault gave back must be usable as is; otherwise undo what was issued.
      try {
        parseCertificateBundle(value, `the certificate issued by ${p.mount}/issue/${p.role}`);
      } catch (e) {
        await revokeSerial(p, issued.serial_number);
        throw e;
      }
      return value;
    },

    async discard(p, { pendingValue, currentValue }) {
      const pending = parseCertificateBundle(pendingValue, 'the pending value');
      const current = parseCertificateBundle(currentValue, 'the current value');
      // The current certificate keeps serving; only a distinct one is revoked.
      if (pending.serialNumber === current.serialNumber) return;
      await revokeSerial(p, pending.serialNumber);
    },

    async revoke(p, { oldValue, currentValue }): Promise<RevocationEvidence> {
      const old = parseCertificateBundle(oldValue, 'the old value');
      const current = parseCertificateBundle(currentValue, 'the current value');
      const oldFacts = factsOf(old.cert);
      const currentFacts = factsOf(current.cert);
      if (old.serialNumber === current.serialNumber)
        return {
          rejected: false,
          detail: `old and current values are the same certificate (serial ${oldFacts.serialNumber}); not revoking the certificate in use`,
        };
      const revoked = await revokeSerial(p, old.serialNumber);
      const action =
        revoked.state === 'expired'
          ? `serial ${oldFacts.serialNumber} had expired (notAfter ${oldFacts.notAfter}); Vault does not revoke expired certificates`
          : revoked.state === 'unknown'
            ? `serial ${oldFacts.serialNumber} is not a certificate of ${p.mount} (not stored there)`
            : `serial ${oldFacts.serialNumber} (sha256 ${oldFacts.sha256.slice(0, 16)}…, notAfter ${oldFacts.notAfter}) ${revoked.state} at ${revoked.at} (${p.mount}/revoke)`;
      if (revoked.state === 'expired')
        return { rejected: true, detail: `${action}; it is refused by every client as expired` };
      if (revoked.state === 'unknown') return { rejected: false, detail: action };
      // The proof: the CRL a client would fetch, signed by the old certificate's CA, lists the serial.
      const caPems = pemBlocks(old.caChain);
      const deadline = Date.now() + proofTimeoutMs;
      for (;;) {
        const crl = await crlFor(p, old.serialNumber);
        const check = await checkCrl(crl.pem, caPems, [old.serialNumber, current.serialNumber]);
        const listedAt = check.listed.get(old.serialNumber);
        const signed = check.signedBy !== undefined;
        if ((listedAt && signed) || Date.now() > deadline) {
          const crlPart = `CRL ${crl.where} (thisUpdate ${check.thisUpdate}, ${check.entries} entries) ${signed ? `signature verified under ${check.signedBy ?? ''}` : 'signature does NOT verify under the old certificate CA chain'}`;
          const oldPart = listedAt
            ? `lists serial ${oldFacts.serialNumber} revoked at ${listedAt}`
            : `does NOT list serial ${oldFacts.serialNumber} after ${Math.round(proofTimeoutMs / 1000)}s`;
          const currentPart = check.listed.has(current.serialNumber)
            ? `WARNING: it also lists the current serial ${currentFacts.serialNumber}`
            : `the current serial ${currentFacts.serialNumber} (notAfter ${currentFacts.notAfter}) is not on it`;
          return {
            rejected: Boolean(listedAt) && signed,
            detail: `${action}; ${crlPart} ${oldPart}; ${currentPart}; clients that check the CRL refuse the old certificate, others accept it until its notAfter`,
          };
        }
        await sleep(1000);
      }
    },
  };
}

function revocationTime(c: StoredCert): string {
  if (c.revocation_time_rfc3339) return new Date(c.revocation_time_rfc3339).toISOString();
  return new Date((c.revocation_time ?? 0) * 1000).toISOString();
}
