/**
 * Vault with persistent file storage, as in production: initialised once (one unseal key, kept
 * 0600 in its state directory), unsealed on every start, with the stack's fixed root token id so
 * VAULT_TOKEN never changes; optionally a second listener with TLS. Used by the stack and by
 * fault-injection tests (their own dir and ports).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { devCredentials } from '../config';
import type { CertFiles } from '../pki';
import { healthProbeTimeoutMs, sleep } from '../process';

/** Where one persistent Vault keeps its config, data and unseal material, and where it listens. */
export interface VaultServerSpec {
  dir: string;
  /** The plaintext listener (unseal and the stack's own calls use it). */
  port: number;
  /** A second listener with TLS: its port, serving certificate and the CA that signed it. */
  tls?: { port: number; server: CertFiles; caFile: string };
}

const addressOf = (s: VaultServerSpec) => `http://127.0.0.1:${s.port}`;
const initFile = (s: VaultServerSpec) => join(s.dir, 'init.json');

/** Writes the server config (file storage under `dir/data`) and returns `vault server` arguments. */
export function vaultServerArgs(s: VaultServerSpec): string[] {
  mkdirSync(join(s.dir, 'data'), { recursive: true, mode: 0o700 });
  const config = join(s.dir, 'config.hcl');
  writeFileSync(
    config,
    [
      `storage "file" { path = "${join(s.dir, 'data')}" }`,
      `listener "tcp" {\n  address = "127.0.0.1:${s.port}"\n  tls_disable = true\n}`,
      ...(s.tls
        ? [
            `listener "tcp" {\n  address = "127.0.0.1:${s.tls.port}"\n  tls_cert_file = "${s.tls.server.cert}"\n  tls_key_file = "${s.tls.server.key}"\n}`,
          ]
        : []),
      `api_addr = "${addressOf(s)}"`,
      // No swap protection needed on a loopback dev box, and mlock needs CAP_IPC_LOCK.
      'disable_mlock = true',
      '',
    ].join('\n'),
  );
  return ['server', `-config=${config}`];
}

async function call(
  s: VaultServerSpec,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${addressOf(s)}/v1/${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { 'X-Vault-Token': token } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/**
 * Brings a started server to "unsealed, stack root token valid": initialises it the first time
 * (saving the unseal key and initial root token), unseals it, and creates the token
 * `devCredentials.vaultToken` when it does not exist. Idempotent.
 */
export async function unsealVault(s: VaultServerSpec, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status: { status: number; json: Record<string, unknown> } | undefined;
  while (!status) {
    status = await call(s, 'GET', 'sys/seal-status').catch(() => undefined);
    if (!status && Date.now() > deadline) throw new Error(`vault at ${addressOf(s)} does not answer`);
    if (!status) await sleep(200);
  }
  if (status.json['initialized'] !== true) {
    const init = await call(s, 'PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 });
    if (init.status !== 200) throw new Error(`vault: init failed (HTTP ${init.status})`);
    const keys = init.json['keys_base64'] as string[];
    writeFileSync(initFile(s), JSON.stringify({ unsealKey: keys[0], rootToken: init.json['root_token'] }), {
      mode: 0o600,
    });
  }
  if (!existsSync(initFile(s)))
    throw new Error(`vault: ${s.dir} holds initialised data but no ${initFile(s)}; remove ${s.dir} to start afresh`);
  const saved = JSON.parse(readFileSync(initFile(s), 'utf8')) as { unsealKey: string; rootToken: string };
  const unseal = await call(s, 'PUT', 'sys/unseal', { key: saved.unsealKey });
  if (unseal.status !== 200) throw new Error(`vault: unseal failed (HTTP ${unseal.status})`);
  // Active once unsealed; the token store answers then.
  while ((await call(s, 'GET', 'sys/health').catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) throw new Error(`vault at ${addressOf(s)} did not become active after unseal`);
    await sleep(200);
  }
  const token = devCredentials.vaultToken;
  if ((await call(s, 'GET', 'auth/token/lookup-self', undefined, token)).status === 200) return;
  const created = await call(
    s,
    'POST',
    'auth/token/create',
    { id: token, policies: ['root'], no_parent: true, display_name: 'rotor-dev-root' },
    saved.rootToken,
  );
  if (created.status !== 200) throw new Error(`vault: creating the stack's root token failed (HTTP ${created.status})`);
}

/**
 * Why the TLS listener of `s` does not serve a certificate its CA verifies (absent, still the old
 * certificate after the CA was made again, expired); undefined when it does. Any HTTP answer counts:
 * a sealed Vault still serves TLS.
 */
export async function tlsListenerProblem(s: VaultServerSpec): Promise<string | undefined> {
  if (!s.tls) return undefined;
  const url = `https://127.0.0.1:${s.tls.port}/v1/sys/health`;
  let ca: Buffer;
  try {
    ca = readFileSync(s.tls.caFile);
  } catch {
    return `TLS listener ${url}: no CA at ${s.tls.caFile}`;
  }
  return new Promise((resolve) => {
    const req = get(url, { ca, timeout: healthProbeTimeoutMs }, (res) => {
      res.resume();
      resolve(undefined);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${healthProbeTimeoutMs} ms`)));
    req.on('error', (e) => resolve(`TLS listener ${url}: ${e.message}`));
  });
}
