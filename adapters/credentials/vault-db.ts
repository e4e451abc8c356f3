import type NodeVault from 'node-vault';
import { vaultFailure, vaultStatus } from '../vault-client';
import type pg from 'pg';
import type { Credential } from '../../core/playbook/schema';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';
import type { CredentialKind } from './kind';
import { describeTarget, tryPostgresLogin } from './postgres';
import type { PostgresTarget } from './postgres';
import { parseUserPassword } from './values';
import type { UserPassword } from './values';
import type { RevocationEvidence } from '../../core/status';
import { holdSecret } from '../secret-scope';
import { postgresTls } from './postgres-tls';
import { vaultApiPath } from '../vault-path';

type VaultDbCredential = Extract<Credential, { kind: 'vault-database-static-role' }>;

interface StaticRole {
  username: string;
  db_name: string;
}

interface ConnectionConfig {
  plugin_name: string;
  allowed_roles?: string[] | string;
  connection_details?: { connection_url?: string };
}

/** Reads a Vault path's data, or null when it does not exist. */
export async function readOrNull<T>(vault: NodeVault.client, path: string): Promise<T | null> {
  try {
    return ((await vault.read(path)) as { data: T }).data;
  } catch (e) {
    if (vaultStatus(e) === 404) return null;
    throw e;
  }
}

/** Maps Vault database-engine errors to failure types; a 404/400 means the role or connection is wrong. */
export function dbFailure(e: unknown, what: string): Error {
  return vaultFailure(e, 'vault', what, {
    statuses: [404, 400],
    failure: (reason) => permanent(ErrorTypes.invalidInput, `vault: cannot ${what}: ${reason}`),
  });
}

/**
 * Where the engine's connection logs in, from its `connection_url` (templates replaced by
 * placeholders). Beyond this machine TLS is verified whatever `sslmode` says, and plaintext refused.
 */
export function postgresTargetOf(connectionUrl: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(connectionUrl.replaceAll('{{username}}', 'u').replaceAll('{{password}}', 'p'));
  } catch {
    throw permanent(
      ErrorTypes.invalidInput,
      'the connection_url of the Vault database connection is not a postgres:// URL; rotor cannot prove revocation against it',
    );
  }
  if (!/^postgres(ql)?:$/.test(url.protocol)) {
    throw permanent(
      ErrorTypes.invalidInput,
      `the Vault database connection uses ${url.protocol} URLs; rotor proves revocation for PostgreSQL only`,
    );
  }
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
    // rotor sends a credential there to prove revocation: beyond this machine only verified TLS.
    ssl: postgresTls(url.hostname, url.searchParams.get('sslmode') ?? undefined, 'sslmode in the connection_url'),
  };
}

/** Where a PostgreSQL connection of the database engine logs in, to prove logins against it. */
export async function connectionTarget(
  vault: NodeVault.client,
  mount: string,
  connection: string,
): Promise<PostgresTarget> {
  let config: ConnectionConfig | null;
  try {
    config = await readOrNull<ConnectionConfig>(vault, vaultApiPath(mount, 'config', connection));
  } catch (e) {
    throw dbFailure(e, `read ${mount}/config/${connection}`);
  }
  if (!config) throw permanent(ErrorTypes.invalidInput, `vault: no database connection ${mount}/config/${connection}`);
  if (config.plugin_name !== 'postgresql-database-plugin') {
    throw permanent(
      ErrorTypes.invalidInput,
      `vault: connection '${connection}' uses ${config.plugin_name}; rotor proves revocation for postgresql-database-plugin only`,
    );
  }
  return postgresTargetOf(config.connection_details?.connection_url ?? '');
}

/**
 * A static role of Vault's database secrets engine (PostgreSQL connections). Vault owns the
 * password; create asks Vault to rotate it and stores what `static-creds` then reads. A static role
 * has one password at a time, so there is NO overlap: the old password dies at create, before the
 * new one reaches consumers, and discard cannot bring it back — it rotates again so the discarded
 * value dies too, and consumers must then re-read from Vault. Revoke has nothing left to do but
 * prove, by logging in to PostgreSQL, that the old password is refused.
 */
export function vaultDatabaseStaticRoleKind(deps: { vault: NodeVault.client }): CredentialKind<VaultDbCredential> {
  const { vault } = deps;

  async function staticRole(p: VaultDbCredential): Promise<StaticRole> {
    let role: StaticRole | null;
    try {
      role = await readOrNull<StaticRole>(vault, vaultApiPath(p.mount, 'static-roles', p.role));
    } catch (e) {
      throw dbFailure(e, `read ${p.mount}/static-roles/${p.role}`);
    }
    if (!role) throw permanent(ErrorTypes.invalidInput, `vault: no static role ${p.mount}/static-roles/${p.role}`);
    if (role.db_name !== p.connection) {
      throw permanent(
        ErrorTypes.invalidInput,
        `vault: static role '${p.role}' belongs to connection '${role.db_name}', not '${p.connection}'`,
      );
    }
    return role;
  }

  async function liveCreds(p: VaultDbCredential): Promise<UserPassword> {
    try {
      const data = (
        (await vault.read(vaultApiPath(p.mount, 'static-creds', p.role))) as {
          data: { username: string; password: string };
        }
      ).data;
      return { username: data.username, password: holdSecret(data.password) };
    } catch (e) {
      throw dbFailure(e, `read ${p.mount}/static-creds/${p.role}`);
    }
  }

  async function rotate(p: VaultDbCredential): Promise<void> {
    try {
      await vault.write(vaultApiPath(p.mount, 'rotate-role', p.role), {});
    } catch (e) {
      throw dbFailure(e, `rotate ${p.mount}/rotate-role/${p.role}`);
    }
  }

  return {
    async create(p) {
      await staticRole(p);
      await rotate(p);
      return JSON.stringify(await liveCreds(p));
    },

    async discard(p, { pendingValue }) {
      const pending = parseUserPassword(pendingValue, 'the pending value');
      await staticRole(p);
      // Rotate only while Vault still hands out the discarded password: a retry, or a create that
      // never rotated, must not kill a password that is live for another reason.
      if ((await liveCreds(p)).password === pending.password) await rotate(p);
    },

    async revoke(p, { oldValue, currentValue }): Promise<RevocationEvidence> {
      const old = parseUserPassword(oldValue, 'the old value');
      const current = parseUserPassword(currentValue, 'the current value');
      const target = await connectionTarget(vault, p.mount, p.connection);
      const where = describeTarget(target);
      const oldLogin = await tryPostgresLogin(target, old, { timeoutMs: 10_000 });
      if (!oldLogin.ok && !oldLogin.refused) {
        throw retryable(
          RetryableErrorTypes.postgres,
          `could not check the old password of '${old.username}' on ${where}: ${oldLogin.code ?? ''} ${oldLogin.message}`.trim(),
        );
      }
      const newLogin = await tryPostgresLogin(target, current, { timeoutMs: 10_000 });
      const live = await liveCreds(p);
      const head = `static role '${p.role}' has one password at a time: the old one was replaced when this rotation rotated it (no overlap)`;
      const oldPart = oldLogin.ok
        ? `login as '${old.username}' with the old password still SUCCEEDED on ${where}`
        : `login as '${old.username}' with the old password refused by ${where}: ${oldLogin.code} ${oldLogin.message}`;
      const newPart = newLogin.ok
        ? `login with the current credential succeeded`
        : `WARNING: login with the current credential failed: ${newLogin.code ?? ''} ${newLogin.message}`.trim();
      const drift =
        live.password === current.password
          ? ''
          : '; WARNING: Vault has rotated the role since (the stored current value is stale)';
      return { rejected: oldLogin.refused, detail: `${head}; ${oldPart}; ${newPart}${drift}` };
    },
  };
}

/** Options of {@link ensureVaultPostgresStaticRole}. */
export interface VaultStaticRoleSetup {
  mount?: string;
  /** Name of the engine connection (`<mount>/config/<connection>`). */
  connection: string;
  role: string;
  /** Existing PostgreSQL role that Vault will own. */
  username: string;
  /** Superuser connection Vault administers the server with. */
  admin: pg.ClientConfig;
  rotationPeriod?: string;
}

/**
 * Configures a PostgreSQL connection of the database engine and a static role on it, idempotently:
 * the connection is (re)written with `role` added to its allowed roles, and the static role is created
 * only when missing or different (creating one makes Vault rotate the user's password at once).
 */
export async function ensureVaultPostgresStaticRole(vault: NodeVault.client, s: VaultStaticRoleSetup): Promise<void> {
  const mount = s.mount ?? 'database';
  await ensureVaultPostgresConnection(vault, { ...s, mount });
  const role = await readOrNull<StaticRole>(vault, vaultApiPath(mount, 'static-roles', s.role));
  if (role?.username === s.username && role.db_name === s.connection) return;
  await vault.write(vaultApiPath(mount, 'static-roles', s.role), {
    db_name: s.connection,
    username: s.username,
    rotation_period: s.rotationPeriod ?? '24h',
  });
}

/**
 * (Re)writes a PostgreSQL connection of the database engine with `role` added to its allowed roles,
 * keeping the roles already allowed.
 */
export async function ensureVaultPostgresConnection(
  vault: NodeVault.client,
  s: { mount: string; connection: string; role: string; admin: pg.ClientConfig },
): Promise<void> {
  const { mount } = s;
  const existing = await readOrNull<ConnectionConfig>(vault, vaultApiPath(mount, 'config', s.connection));
  const allowed = new Set(
    (Array.isArray(existing?.allowed_roles) ? existing.allowed_roles : (existing?.allowed_roles ?? '').split(','))
      .map((r) => r.trim())
      .filter(Boolean),
  );
  allowed.add(s.role);
  const db = encodeURIComponent(s.admin.database ?? 'postgres');
  await vault.write(vaultApiPath(mount, 'config', s.connection), {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@${s.admin.host ?? '127.0.0.1'}:${s.admin.port ?? 5432}/${db}${s.admin.ssl ? '' : '?sslmode=disable'}`,
    username: s.admin.user,
    password: typeof s.admin.password === 'function' ? await s.admin.password() : s.admin.password,
    allowed_roles: [...allowed].join(','),
    password_authentication: 'scram-sha-256',
    verify_connection: true,
  });
}
