/**
 * The stack's Vault PKI for `vault-pki-certificate` tests: set up idempotently on the running
 * stack (the same code `dev/stack up vault` runs), certificates issued from it the way the kind
 * stores them, and what Vault and its CRL say about a serial.
 */
import { X509Certificate } from 'node:crypto';
import type NodeVault from 'node-vault';
import { checkCrl } from '../../adapters/credentials/vault-pki-crl';
import type { CertificateBundle } from '../../adapters/credentials/vault-pki-value';
import { pemBlocks } from '../../adapters/credentials/vault-pki-value';
import { vaultFromEnv, vaultStatus } from '../../adapters/vault-client';
import { ports } from '../../dev/local-stack/config';
import { ensureStackPki, stackPki } from '../../dev/local-stack/services/vault-pki';

export { stackPki };

let vaultClient: NodeVault.client | undefined;
const vault = () => (vaultClient ??= vaultFromEnv());

/** The stack's plaintext listener, which `dev/stack up` names in the CRL and issuing URLs (whatever VAULT_ADDR a run uses). */
const stackVaultAddress = `http://127.0.0.1:${ports.vault}`;

/** Sets up the stack's `pki` mount, root CA and roles (a no-op when they are there). */
export async function ensurePki(): Promise<void> {
  await ensureStackPki(async (method, path, body) => {
    try {
      const json: unknown = await vault().request({ path: `/${path}`, method, ...(body ? { json: body } : {}) });
      return { status: 200, json };
    } catch (e) {
      return { status: vaultStatus(e) ?? 500, json: { errors: [(e as Error).message] } };
    }
  }, stackVaultAddress);
}

/** A certificate issued straight from `<mount>/issue/<role>`, as the kind stores it. */
export async function issueBundle(
  commonName: string,
  o: { mount?: string; role?: string; ttl?: string } = {},
): Promise<CertificateBundle> {
  const mount = o.mount ?? stackPki.mount;
  const res = (await vault().write(`${mount}/issue/${o.role ?? stackPki.leafRole}`, {
    common_name: commonName,
    ttl: o.ttl ?? '1h',
    private_key_format: 'pkcs8',
  })) as { data: { certificate: string; private_key: string; ca_chain: string[]; serial_number: string } };
  return {
    certificate: res.data.certificate,
    privateKey: res.data.private_key,
    caChain: res.data.ca_chain.join('\n'),
    serialNumber: res.data.serial_number,
  };
}

/** Whether Vault records `serial` as revoked. */
export async function revokedInVault(serial: string, mount: string = stackPki.mount): Promise<boolean> {
  const res = (await vault().read(`${mount}/cert/${serial}`)) as { data: { revocation_time?: number } };
  return (res.data.revocation_time ?? 0) > 0;
}

/** Which of `serials` the mount's CRL lists, its signature checked under the mount's CA. */
export async function onCrl(serials: string[], mount: string = stackPki.mount): Promise<string[]> {
  const crl = (await vault().read(`${mount}/cert/crl`)) as { data: { certificate: string } };
  const ca = (await vault().read(`${mount}/cert/ca`)) as { data: { certificate: string } };
  const check = await checkCrl(crl.data.certificate, pemBlocks(ca.data.certificate), serials);
  if (!check.signedBy) throw new Error(`the CRL of ${mount} does not verify under its CA`);
  return [...check.listed.keys()];
}

/** The mount's serials and revocation state, for before/after comparisons. */
export async function pkiSnapshot(mount: string = stackPki.mount): Promise<{ certs: string[]; revoked: string[] }> {
  const certs = ((await vault().list(`${mount}/certs`)) as { data: { keys: string[] } }).data.keys.sort();
  const revoked = (
    (await vault()
      .list(`${mount}/certs/revoked`)
      .catch((e: unknown) => {
        if (vaultStatus(e) === 404) return { data: { keys: [] } };
        throw e;
      })) as { data: { keys: string[] } }
  ).data.keys.sort();
  return { certs, revoked };
}

/** Serials of the certificates for `commonName` that Vault issued since `before` (a {@link pkiSnapshot}). */
export async function issuedSince(
  before: { certs: string[] },
  commonName: string,
  mount: string = stackPki.mount,
): Promise<string[]> {
  const { certs } = await pkiSnapshot(mount);
  const fresh = certs.filter((s) => !before.certs.includes(s));
  const found: string[] = [];
  for (const serial of fresh) {
    const res = (await vault().read(`${mount}/cert/${serial}`)) as { data: { certificate: string } };
    if (new X509Certificate(res.data.certificate).subject.split('\n').includes(`CN=${commonName}`)) found.push(serial);
  }
  return found;
}
