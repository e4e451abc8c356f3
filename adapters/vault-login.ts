/**
 * The worker's Vault identity when it is not a static token: AppRole login (VAULT_ROLE_ID with
 * VAULT_SECRET_ID or VAULT_SECRET_ID_FILE, mount VAULT_APPROLE_MOUNT, default `approle`) or
 * Kubernetes auth (VAULT_KUBERNETES_ROLE with the pod's service-account token from
 * VAULT_KUBERNETES_TOKEN_FILE, default the in-cluster token, mount VAULT_KUBERNETES_MOUNT, default
 * `kubernetes`; Vault checks the token with the apiserver's TokenReview). The token is renewed at
 * two thirds of its TTL and replaced by a fresh login when it can no longer be renewed. The secret
 * id is read once; the service-account token is read again at every login, because the kubelet
 * replaces a projected token before it expires. Neither is ever logged.
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

/** The in-cluster service-account token a pod has unless its spec turns the mount off. */
export const inClusterTokenFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** One way to log in: the method's name for errors, and the login call. */
interface LoginMethod {
  describe: string;
  mount: string;
  login(client: NodeVault.client): Promise<unknown>;
}

function appRole(env: NodeJS.ProcessEnv, roleId: string): LoginMethod {
  const secretId = secretIdFrom(env);
  const mount = env['VAULT_APPROLE_MOUNT'] ?? 'approle';
  return {
    describe: `AppRole login for VAULT_ROLE_ID ${roleId} at auth/${mount}`,
    mount,
    login: (c) => c.approleLogin({ role_id: roleId, secret_id: secretId, mount_point: mount }),
  };
}

function kubernetesAuth(env: NodeJS.ProcessEnv, role: string): LoginMethod {
  const file = env['VAULT_KUBERNETES_TOKEN_FILE'] || inClusterTokenFile;
  const mount = env['VAULT_KUBERNETES_MOUNT'] || 'kubernetes';
  const jwt = () => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new Error(`VAULT_KUBERNETES_TOKEN_FILE=${file} cannot be read (${(e as Error).message})`);
    }
  };
  // Unreadable at startup is a configuration error, said before any login is tried.
  jwt();
  return {
    describe: `Kubernetes login for VAULT_KUBERNETES_ROLE ${role} at auth/${mount}`,
    mount,
    login: (c) => c.kubernetesLogin({ role, jwt: jwt(), mount_point: mount }),
  };
}

/** The login method the environment configures, or undefined for a static VAULT_TOKEN. */
function loginMethodFrom(env: NodeJS.ProcessEnv): LoginMethod | undefined {
  const roleId = env['VAULT_ROLE_ID'];
  const k8sRole = env['VAULT_KUBERNETES_ROLE'];
  if (roleId && k8sRole)
    throw new Error('VAULT_ROLE_ID and VAULT_KUBERNETES_ROLE are both set: choose one Vault login');
  if (roleId) return appRole(env, roleId);
  if (k8sRole) return kubernetesAuth(env, k8sRole);
  return undefined;
}

/**
 * Logs `clients` in with AppRole (VAULT_ROLE_ID) or Kubernetes auth (VAULT_KUBERNETES_ROLE) and
 * keeps their token fresh; returns undefined (nothing to do) for a static VAULT_TOKEN. Login
 * failures name the role variable and Vault's answer.
 */
export async function vaultLogin(
  clients: readonly NodeVault.client[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<VaultSession | undefined> {
  const method = loginMethodFrom(env);
  if (!method) return undefined;
  const first = clients[0];
  if (!first) return undefined;
  let ttl = 0;
  let renewable = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const adopt = (reply: AuthReply, what: string) => {
    const token = reply.auth?.client_token;
    if (!token) throw new Error(`Vault ${what} returned no token (mount ${method.mount})`);
    for (const c of clients) c.token = token;
    ttl = reply.auth?.lease_duration ?? 0;
    renewable = reply.auth?.renewable ?? false;
  };
  const login = async () => {
    try {
      adopt((await method.login(first)) as AuthReply, 'login');
    } catch (e) {
      throw new Error(`Vault ${method.describe} failed: ${(e as Error).message}`);
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
