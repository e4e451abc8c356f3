/**
 * The worker's Vault identity when it is not a static token: AppRole login (VAULT_ROLE_ID with
 * VAULT_SECRET_ID or VAULT_SECRET_ID_FILE, mount VAULT_APPROLE_MOUNT, default `approle`), the
 * token renewed at two thirds of its TTL and replaced by a fresh login when it can no longer be
 * renewed. The secret id is read once and never logged.
 */
import { readFileSync } from 'node:fs';
import type NodeVault from 'node-vault';

interface AuthReply {
  auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
}

/** Keeps one or more clients logged in; `stop` ends renewal (the worker is shutting down). */
export interface VaultSession {
  /** Seconds the current token has left when it was issued or last renewed. */
  readonly ttlSeconds: number;
  /** Renews now (or logs in again when renewal cannot extend the token). */
  refresh(): Promise<void>;
  stop(): void;
}

function secretIdFrom(env: NodeJS.ProcessEnv): string {
  if (env['VAULT_SECRET_ID']) return env['VAULT_SECRET_ID'];
  const file = env['VAULT_SECRET_ID_FILE'];
  if (!file) throw new Error('VAULT_ROLE_ID is set but neither VAULT_SECRET_ID nor VAULT_SECRET_ID_FILE is');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(`VAULT_SECRET_ID_FILE=${file} cannot be read (${(e as Error).message})`);
  }
}

/**
 * Logs `clients` in with AppRole when VAULT_ROLE_ID is set and keeps their token fresh; returns
 * undefined (nothing to do) for a static VAULT_TOKEN. Login failures name the role id variable
 * and Vault's answer.
 */
export async function vaultLogin(
  clients: readonly NodeVault.client[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<VaultSession | undefined> {
  const roleId = env['VAULT_ROLE_ID'];
  if (!roleId) return undefined;
  const secretId = secretIdFrom(env);
  const mount = env['VAULT_APPROLE_MOUNT'] ?? 'approle';
  const first = clients[0];
  if (!first) return undefined;
  let ttl = 0;
  let renewable = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const adopt = (reply: AuthReply, what: string) => {
    const token = reply.auth?.client_token;
    if (!token) throw new Error(`Vault AppRole ${what} returned no token (mount ${mount})`);
    for (const c of clients) c.token = token;
    ttl = reply.auth?.lease_duration ?? 0;
    renewable = reply.auth?.renewable ?? false;
  };
  const login = async () => {
    try {
      adopt(
        (await first.approleLogin({ role_id: roleId, secret_id: secretId, mount_point: mount })) as AuthReply,
        'login',
      );
    } catch (e) {
      throw new Error(
        `Vault AppRole login for VAULT_ROLE_ID ${roleId} at auth/${mount} failed: ${(e as Error).message}`,
      );
    }
  };
  const refresh = async () => {
    const before = ttl;
    if (renewable) {
      try {
        adopt((await first.tokenRenewSelf({})) as AuthReply, 'renewal');
        // A token at its max TTL renews without gaining time: log in again instead.
        if (ttl >= Math.min(before, 60)) return;
      } catch {
        // Renewal refused (expired, revoked): a fresh login below.
      }
    }
    await login();
  };
  const schedule = () => {
    if (stopped || ttl <= 0) return;
    timer = setTimeout(
      () => {
        refresh().then(schedule, () => {
          // Vault unreachable: try again soon; requests fail meanwhile and are retried by Temporal.
          ttl = 30;
          schedule();
        });
      },
      Math.max(1, Math.floor((ttl * 2) / 3)) * 1000,
    );
    timer.unref();
  };

  await login();
  schedule();
  return {
    get ttlSeconds() {
      return ttl;
    },
    async refresh() {
      await refresh();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
