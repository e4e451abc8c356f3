import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devCredentials, ports } from '../config';
import { ensurePortFree, runningPid, startProcess, tailOf, waitHealthy } from '../process';
import { unsealVault, vaultServerArgs } from './vault-server';
import type { StackContext, StackService } from '../service';
import { goBinary, onPathAtVersion } from '../toolchain';

/** Vault release built from dev/go/vault (its go.mod pins the same tag; README says why this one). */
const version = '1.21.1';
const address = `http://127.0.0.1:${ports.vault}`;
// Absolute, so `dev/stack` works from any working directory.
const moduleDir = fileURLToPath(new URL('../../go/vault', import.meta.url));

/** The binary `install` resolved; `start` falls back to resolving it itself. */
let binary: string | undefined;

/** The Vault binary (installed at this release, or built into the cache). */
export async function resolveBinary(ctx: StackContext): Promise<string> {
  binary ??=
    // An installed `vault` whose `vault version` names this release (e.g. from HashiCorp's packages).
    onPathAtVersion('vault', ['version'], version) ??
    // No `ui` tag: the web UI needs a Node/Ember build and rotor only talks to the API.
    // `-s -w` only affects linking, so a warm Go build cache is reused.
    (await goBinary(ctx, {
      name: 'vault',
      version,
      moduleDir,
      pkg: 'github.com/hashicorp/vault',
      flags: ['-ldflags=-s -w'],
    }));
  return binary;
}

/** One authenticated Vault API call with the dev root token; the JSON body (if any) and status. */
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${address}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': devCredentials.vaultToken, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

function errorsOf(json: unknown): string {
  const errors = (json as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.map(String).join('; ') : JSON.stringify(json);
}

/** Enables a secrets engine at `path`; an existing mount there is fine (start must be idempotent). */
async function enableSecretsEngine(path: string, type: string, options?: Record<string, string>): Promise<void> {
  const res = await api('POST', `sys/mounts/${path}`, { type, ...(options ? { options } : {}) });
  if (res.status < 300) return;
  const reason = errorsOf(res.json);
  if (res.status === 400 && reason.includes('path is already in use')) return;
  throw new Error(`vault: enabling the ${type} secrets engine at ${path}/ failed (HTTP ${res.status}): ${reason}`);
}

/**
 * The mounts rotor relies on: KV v2 at `secret/` (dev mode mounts it; checked in case it was
 * started with other flags) and the database engine at `database/` for database static roles.
 */
async function ensureMounts(): Promise<void> {
  const mounts = await api('GET', 'sys/mounts');
  if (mounts.status !== 200)
    throw new Error(`vault: listing mounts failed (HTTP ${mounts.status}): ${errorsOf(mounts.json)}`);
  const data =
    (mounts.json as { data?: Record<string, { type?: string; options?: { version?: string } | null }> }).data ?? {};
  const secret = data['secret/'];
  if (secret === undefined) await enableSecretsEngine('secret', 'kv', { version: '2' });
  else if (secret.type !== 'kv' || secret.options?.version !== '2') {
    throw new Error(
      `vault: secret/ is mounted as ${secret.type ?? '?'} v${secret.options?.version ?? '1'}, rotor needs KV v2`,
    );
  }
  if (data['database/'] === undefined) await enableSecretsEngine('database', 'database');
}

/**
 * HashiCorp Vault with persistent file storage (`<state>/vault`), built from Go modules via
 * dev/go/vault: initialised once, unsealed by `start` on every start (a restart keeps its data, as
 * in production), root token `devCredentials.vaultToken`. `start` also mounts KV v2 at `secret/`
 * and the database secrets engine at `database/`.
 */
export const vault: StackService = {
  name: 'vault',
  version,
  dependsOn: [],
  address,
  async install(ctx) {
    await resolveBinary(ctx);
  },
  async start(ctx) {
    const bin = await resolveBinary(ctx);
    // Our own server still starting holds the port; startProcess then returns it as is.
    if (runningPid(ctx, 'vault') === undefined) await ensurePortFree(ports.vault, 'vault');
    const spec = { dir: join(ctx.paths.stateDir, 'vault'), port: ports.vault };
    const proc = startProcess(ctx, 'vault', bin, vaultServerArgs(spec));
    await unsealVault(spec).catch((e: Error) => {
      throw new Error(`${e.message}\n${tailOf(proc.logFile)}`);
    });
    await waitHealthy('vault', () => vault.health(ctx), proc.logFile, 60_000);
    await ensureMounts();
  },
  async health() {
    // sys/health needs no token: 200 = initialized, unsealed and active.
    const res = await fetch(`${address}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (res === undefined) return `vault does not answer at ${address}`;
    await res.body?.cancel(); // release the connection; the status says it all
    const why: Record<number, string> = {
      429: 'unsealed but standby',
      472: 'disaster-recovery secondary',
      473: 'performance standby',
      501: 'not initialized',
      503: 'sealed',
    };
    return res.status === 200 ? undefined : `vault health: HTTP ${res.status} (${why[res.status] ?? 'unexpected'})`;
  },
};
