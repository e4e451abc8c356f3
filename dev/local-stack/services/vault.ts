import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devCredentials, ports, vaultTlsDir } from '../config';
import type { StackPaths } from '../config';
import { ensureLoopbackPki, loopbackPki } from '../pki';
import {
  ensurePortFree,
  portOwner,
  probe,
  runningPid,
  startProcess,
  stopProcess,
  tailOf,
  waitHealthy,
} from '../process';
import { tlsListenerProblem, unsealVault, vaultServerArgs } from './vault-server';
import type { VaultServerSpec } from './vault-server';
import { ensureStackPki } from './vault-pki';
import type { StackContext, StackService } from '../service';
import { goBinary, onPathAtVersion } from '../toolchain';

/** Vault release built from dev/go/vault (its go.mod pins the same tag; README says why this one). */
const version = '1.21.1';
// Absolute, so `dev/stack` works from any working directory.
const moduleDir = fileURLToPath(new URL('../../go/vault', import.meta.url));

/** The binary `install` resolved; `start` falls back to resolving it itself. */
let binary: string | undefined;

/** The Vault binary (installed at this release, or built into the cache). */
export async function resolveBinary(ctx: StackContext): Promise<string> {
  binary ??=
    // An installed `vault` whose `vault version` names this release (e.g. from HashiCorp's packages).
    onPathAtVersion('vault', ['version'], version) ??
    // No `ui` tag: the web UI needs a Node/Ember build and rotor only talks to the API. The
    // `minimal` tag leaves out the cloud plugins (most of the compile time); the patched registry
    // and storage adds back what rotor uses (dev/go/vault/overlay/, README there).
    (await goBinary(ctx, {
      name: 'vault',
      version,
      moduleDir,
      pkg: 'github.com/hashicorp/vault',
      flags: ['-tags=minimal', '-trimpath', '-ldflags=-s -w'],
      patch: {
        module: 'github.com/hashicorp/vault',
        version: `v${version}`,
        files: Object.fromEntries(
          ['helper/builtinplugins/registry_min.go', 'command/commands_min.go'].map((f) => [
            f,
            readFileSync(join(moduleDir, 'overlay', `${basename(f)}.in`), 'utf8'),
          ]),
        ),
      },
    }));
  return binary;
}

/** One authenticated Vault API call with the dev root token; the JSON body (if any) and status. */
async function api(
  address: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
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
async function enableSecretsEngine(
  address: string,
  path: string,
  type: string,
  options?: Record<string, string>,
): Promise<void> {
  const res = await api(address, 'POST', `sys/mounts/${path}`, { type, ...(options ? { options } : {}) });
  if (res.status < 300) return;
  const reason = errorsOf(res.json);
  if (res.status === 400 && reason.includes('path is already in use')) return;
  throw new Error(`vault: enabling the ${type} secrets engine at ${path}/ failed (HTTP ${res.status}): ${reason}`);
}

/**
 * The mounts rotor relies on: KV v2 at `secret/` (dev mode mounts it; checked in case it was
 * started with other flags), the database engine at `database/` for database static roles, and
 * the PKI engine at `pki/` with its root CA and leaf roles (services/vault-pki.ts).
 */
async function ensureMounts(address: string): Promise<void> {
  const mounts = await api(address, 'GET', 'sys/mounts');
  if (mounts.status !== 200)
    throw new Error(`vault: listing mounts failed (HTTP ${mounts.status}): ${errorsOf(mounts.json)}`);
  const data =
    (mounts.json as { data?: Record<string, { type?: string; options?: { version?: string } | null }> }).data ?? {};
  const secret = data['secret/'];
  if (secret === undefined) await enableSecretsEngine(address, 'secret', 'kv', { version: '2' });
  else if (secret.type !== 'kv' || secret.options?.version !== '2') {
    throw new Error(
      `vault: secret/ is mounted as ${secret.type ?? '?'} v${secret.options?.version ?? '1'}, rotor needs KV v2`,
    );
  }
  if (data['database/'] === undefined) await enableSecretsEngine(address, 'database', 'database');
  await ensureStackPki((method, path, body) => api(address, method, path, body), address);
}

/** Where one stack Vault listens: plaintext on `port`, TLS on `tlsPort`. */
export interface VaultPorts {
  port: number;
  tlsPort: number;
}

/** The server spec of the stack's Vault under `paths`: data in `<state>/vault`, PKI in `vaultTlsDir`. */
function serverSpec(paths: StackPaths, p: VaultPorts): VaultServerSpec & { tls: NonNullable<VaultServerSpec['tls']> } {
  const pki = loopbackPki(vaultTlsDir(paths));
  return {
    dir: join(paths.stateDir, 'vault'),
    port: p.port,
    tls: { port: p.tlsPort, server: pki.server, caFile: pki.ca.cert },
  };
}

/** Plaintext health: sys/health needs no token; 200 = initialized, unsealed and active. */
async function plainHealth(address: string): Promise<string | undefined> {
  const status = await probe(`${address}/v1/sys/health`);
  if (status === undefined) return `vault does not answer at ${address}`;
  const why: Record<number, string> = {
    429: 'unsealed but standby',
    472: 'disaster-recovery secondary',
    473: 'performance standby',
    501: 'not initialized',
    503: 'sealed',
  };
  return status === 200 ? undefined : `vault health: HTTP ${status} (${why[status] ?? 'unexpected'})`;
}

/**
 * HashiCorp Vault with persistent file storage (`<state>/vault`), built from Go modules via
 * dev/go/vault: initialised once, unsealed by `start` on every start (a restart keeps its data, as
 * in production), root token `devCredentials.vaultToken`. It listens plaintext on `port` and with TLS
 * on `tlsPort`, its certificate from a CA the stack makes in `vaultTlsDir` (made again when missing
 * or expired). `start` restarts a running Vault whose TLS listener is missing or serves a stale
 * certificate (a stack from before the listener), and mounts KV v2 at `secret/` and the database
 * secrets engine at `database/` and the PKI engine at `pki/`. Tests run it on private ports and state.
 */
export function vaultService(p: VaultPorts): StackService {
  const address = `http://127.0.0.1:${p.port}`;
  const tlsAddress = `https://127.0.0.1:${p.tlsPort}`;
  const service: StackService = {
    name: 'vault',
    version,
    dependsOn: [],
    address: `${address}, ${tlsAddress} (TLS)`,
    async install(ctx) {
      await resolveBinary(ctx);
    },
    async start(ctx) {
      const bin = await resolveBinary(ctx);
      await ensureLoopbackPki(vaultTlsDir(ctx.paths), 'rotor-dev-vault-ca');
      const spec = serverSpec(ctx.paths, p);
      const pid = runningPid(ctx, 'vault');
      if (pid !== undefined) {
        const stale = await tlsListenerProblem(spec);
        if (stale !== undefined) {
          // Another process on the TLS port would keep the restarted Vault down: refuse before stopping it.
          if (!(portOwner(p.tlsPort) ?? `(pid ${pid})`).endsWith(`(pid ${pid})`))
            await ensurePortFree(p.tlsPort, 'vault');
          // The listener set is read at start: restart; file storage keeps data and tokens, unseal below.
          ctx.log(`vault: restarting to serve ${tlsAddress} (${stale})`);
          await stopProcess(ctx, 'vault');
        }
      }
      // Our own server still starting holds the ports; startProcess then returns it as is.
      if (runningPid(ctx, 'vault') === undefined) {
        await ensurePortFree(p.port, 'vault');
        await ensurePortFree(p.tlsPort, 'vault');
      }
      const proc = startProcess(ctx, 'vault', bin, vaultServerArgs(spec));
      await unsealVault(spec).catch((e: Error) => {
        throw new Error(`${e.message}\n${tailOf(proc.logFile)}`);
      });
      await waitHealthy('vault', () => service.health(ctx), proc.logFile, 60_000);
      await ensureMounts(address);
    },
    async health(ctx) {
      return (await plainHealth(address)) ?? (await tlsListenerProblem(serverSpec(ctx.paths, p)));
    },
  };
  return service;
}

/** The stack's Vault: http://127.0.0.1:8200 and https://127.0.0.1:8210. */
export const vault = vaultService({ port: ports.vault, tlsPort: ports.vaultTls });
