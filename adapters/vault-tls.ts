/**
 * TLS to Vault, configured the way Vault's own CLI reads it (VAULT_CACERT, VAULT_CAPATH,
 * VAULT_SKIP_VERIFY), except that verification can only be turned off for a Vault on this machine.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type NodeVault from 'node-vault';
import { isLoopback } from './loopback';

/** What node-vault's HTTPS agent gets: whether to verify, and the CAs to verify against. */
export interface VaultTlsOptions {
  strictSSL: boolean;
  ca?: Buffer[];
}

/**
 * VAULT_SKIP_VERIFY as Vault's CLI reads it (only an explicit true turns verification off), and
 * honoured only for a loopback VAULT_ADDR: nothing outside a dev stack may turn verification off.
 */
function skipVerify(env: NodeJS.ProcessEnv, endpoint: string): boolean {
  const raw = (env['VAULT_SKIP_VERIFY'] ?? '').trim().toLowerCase();
  if (['', '0', 'false', 'no'].includes(raw)) return false;
  if (!['1', 'true', 'yes'].includes(raw))
    throw new Error(`VAULT_SKIP_VERIFY='${raw}' is not a boolean: write true or false (unset means verify)`);
  const url = new URL(endpoint);
  if (url.protocol === 'https:' && !isLoopback(url.hostname))
    throw new Error(
      `VAULT_SKIP_VERIFY=${raw} is refused for VAULT_ADDR=${endpoint}: rotor verifies TLS to every Vault beyond ` +
        "this machine. Unset it and point VAULT_CACERT (or VAULT_CAPATH) at the CA that signed Vault's certificate",
    );
  return true;
}

/** The CA certificates of VAULT_CACERT (one PEM file), else of every file in the VAULT_CAPATH directory. */
function casFrom(env: NodeJS.ProcessEnv): Buffer[] | undefined {
  const file = env['VAULT_CACERT'];
  const dir = env['VAULT_CAPATH'];
  const [name, path] = file ? ['VAULT_CACERT', file] : dir ? ['VAULT_CAPATH', dir] : [];
  if (!name || !path) return undefined;
  try {
    if (name === 'VAULT_CACERT') return [readFileSync(path)];
    const files = readdirSync(path)
      .map((f) => join(path, f))
      .filter((f) => statSync(f).isFile());
    if (!files.length) throw new Error('the directory holds no files');
    // As Vault's CLI: every file must hold a PEM certificate, so a stray key or typo is not silently skipped.
    return files.map((f) => {
      const pem = readFileSync(f);
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${f} holds no PEM certificate`);
      return pem;
    });
  } catch (e) {
    throw new Error(`${name}=${path} cannot be read (${(e as Error).message}): point it at Vault's CA (PEM)`);
  }
}

/** TLS options from VAULT_CACERT/VAULT_CAPATH/VAULT_SKIP_VERIFY for `endpoint`; fails naming the variable. */
export function vaultTlsFromEnv(env: NodeJS.ProcessEnv, endpoint: string): VaultTlsOptions {
  const strictSSL = !skipVerify(env, endpoint);
  const ca = casFrom(env);
  return { strictSSL, ...(ca ? { ca } : {}) };
}

// Node's codes for a certificate it does not trust (OpenSSL's verify errors and the hostname check).
const untrusted = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Which CAs verify Vault's certificate, as the operator configured them. */
function trustedBy(env: NodeJS.ProcessEnv): string {
  if (env['VAULT_CACERT']) return `VAULT_CACERT=${env['VAULT_CACERT']}`;
  if (env['VAULT_CAPATH']) return `VAULT_CAPATH=${env['VAULT_CAPATH']}`;
  return 'the system CAs (neither VAULT_CACERT nor VAULT_CAPATH is set)';
}

/** One line for logs: Vault's address and how its certificate is verified (no secret in it). */
export function describeVaultTls(env: NodeJS.ProcessEnv, endpoint: string): string {
  if (!endpoint.startsWith('https:')) return `${endpoint} (plaintext)`;
  if (skipVerify(env, endpoint)) return `${endpoint} (TLS, verification off: VAULT_SKIP_VERIFY, loopback)`;
  return `${endpoint} (TLS, verified against ${trustedBy(env)})`;
}

/**
 * When `e` is a failed verification of Vault's certificate: what failed, against which CAs, and what
 * to do; else undefined.
 */
export function vaultTlsHint(e: unknown, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !untrusted.has(code)) return undefined;
  return (
    `Vault's certificate does not verify against ${trustedBy(env)} (${code}: ${(e as Error).message}); ` +
    "point VAULT_CACERT (or VAULT_CAPATH) at the CA that signed Vault's certificate"
  );
}

/**
 * Checks at startup that an `https` Vault's certificate is trusted, so a worker with the wrong CA
 * stops before it takes any work, naming the address and VAULT_CACERT. Only a verification failure
 * stops it: an unreachable Vault may come back, and activities retry until it does.
 */
export async function checkVaultTls(vault: NodeVault.client, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!vault.endpoint.startsWith('https:')) return;
  try {
    await vault.health();
  } catch (e) {
    const hint = vaultTlsHint(e, env);
    if (hint) throw new Error(`rotor refuses Vault at ${vault.endpoint}: ${hint}`);
  }
}
