import type NodeVault from 'node-vault';
import type pg from 'pg';
import type { Credential } from '../../core/playbook/schema';
import { ErrorTypes, permanent } from '../../core/failures';
import type { RevocationEvidence } from '../../core/status';
import type { CredentialKind } from './kind';
import { describeTarget, tryPostgresLogin } from './postgres';
import { parseCredentialJson } from './values';
import { vaultStatus } from '../vault-client';
import { connectionTarget, dbFailure, ensureVaultPostgresConnection, readOrNull } from './vault-db';
import { vaultApiPath } from '../vault-path';

type DynamicCredential = Extract<Credential, { kind: 'vault-database-dynamic-role' }>;

/** A dynamic database credential as stored: the lease id travels with it so revoke can end it. */
export interface LeasedUserPassword {
  username: string;
  password: string;
  leaseId: string;
}

interface DynamicRole {
  db_name: string;
  default_ttl?: number;
  max_ttl?: number;
}

function parseLeased(text: string, what: string): LeasedUserPassword {
  return parseCredentialJson(text, ['username', 'password', 'leaseId'] as const, what);
}

/**
 * A dynamic role of Vault's database secrets engine (PostgreSQL connections). Create reads
 * `<mount>/creds/<role>`: Vault makes a new database user under a new lease, and the old user keeps
 * working through the overlap. Discard (undo of create) revokes the new lease; revoke revokes the
 * old one — Vault runs the role's revocation statements, dropping that user — and proves by a real
 * login that the old credential is refused. Lease ids are not secret; passwords never leave here.
 */
export function vaultDatabaseDynamicRoleKind(deps: { vault: NodeVault.client }): CredentialKind<DynamicCredential> {
  const { vault } = deps;

  async function checkRole(p: DynamicCredential): Promise<DynamicRole> {
    let role: DynamicRole | null;
    try {
      role = await readOrNull<DynamicRole>(vault, vaultApiPath(p.mount, 'roles', p.role));
    } catch (e) {
      throw dbFailure(e, `read ${p.mount}/roles/${p.role}`);
    }
    if (!role) throw permanent(ErrorTypes.invalidInput, `vault: no dynamic role ${p.mount}/roles/${p.role}`);
    if (role.db_name !== p.connection) {
      throw permanent(
        ErrorTypes.invalidInput,
        `vault: dynamic role '${p.role}' belongs to connection '${role.db_name}', not '${p.connection}'`,
      );
    }
    return role;
  }

  /** Revokes a lease; a lease that is already gone (revoked or expired) counts as revoked. */
  async function revokeLease(leaseId: string): Promise<'revoked' | 'already gone'> {
    try {
      await vault.write('sys/leases/lookup', { lease_id: leaseId });
    } catch (e) {
      if (vaultStatus(e) === 400) return 'already gone';
      throw dbFailure(e, `look up lease ${leaseId}`);
    }
    try {
      await vault.write('sys/leases/revoke', { lease_id: leaseId });
      return 'revoked';
    } catch (e) {
      throw dbFailure(e, `revoke lease ${leaseId}`);
    }
  }

  return {
    async create(p) {
      await checkRole(p);
      let res: { lease_id?: string; data?: { username?: string; password?: string } };
      try {
        res = (await vault.read(vaultApiPath(p.mount, 'creds', p.role))) as typeof res;
      } catch (e) {
        throw dbFailure(e, `read ${p.mount}/creds/${p.role}`);
      }
      if (!res.lease_id || !res.data?.username || !res.data.password)
        throw permanent(
          ErrorTypes.invalidInput,
          `vault: ${p.mount}/creds/${p.role} returned no lease or no credential`,
        );
      const value: LeasedUserPassword = {
        username: res.data.username,
        password: res.data.password,
        leaseId: res.lease_id,
      };
      return JSON.stringify(value);
    },

    async discard(_p, { pendingValue }) {
      await revokeLease(parseLeased(pendingValue, 'the pending value').leaseId);
    },

    async revoke(p, { oldValue, currentValue }): Promise<RevocationEvidence> {
      const old = parseLeased(oldValue, 'the old value (a credential this kind issued)');
      const current = parseLeased(currentValue, 'the current value');
      const target = await connectionTarget(vault, p.mount, p.connection);
      const where = describeTarget(target);
      const lease = await revokeLease(old.leaseId);
      const oldLogin = await tryPostgresLogin(target, old, { timeoutMs: 10_000 });
      if (!oldLogin.ok && !oldLogin.refused) {
        throw new Error(
          `could not check the old credential of '${old.username}' on ${where}: ${oldLogin.code ?? ''} ${oldLogin.message}`.trim(),
        );
      }
      const newLogin = await tryPostgresLogin(target, current, { timeoutMs: 10_000 });
      const oldPart = oldLogin.ok
        ? `login as '${old.username}' still SUCCEEDED on ${where}`
        : `login as '${old.username}' refused by ${where}: ${oldLogin.code} ${oldLogin.message}`;
      const newPart = newLogin.ok
        ? `login as '${current.username}' (lease ${current.leaseId}) succeeded`
        : `WARNING: login as '${current.username}' failed: ${newLogin.code ?? ''} ${newLogin.message}`.trim();
      return { rejected: oldLogin.refused, detail: `old lease ${old.leaseId} ${lease}; ${oldPart}; ${newPart}` };
    },
  };
}

/** Options of {@link ensureVaultPostgresDynamicRole}. */
export interface VaultDynamicRoleSetup {
  mount?: string;
  connection: string;
  role: string;
  /** Superuser connection Vault administers the server with. */
  admin: pg.ClientConfig;
  /** Lease lifetimes (defaults 24h / 768h); the max must outlast the rotation interval plus the overlap. */
  defaultTtl?: string;
  maxTtl?: string;
  /** Extra SQL run after the user is created, e.g. grants (`{{name}}` is the new user). */
  grants?: string[];
}

/**
 * Configures a PostgreSQL connection and a dynamic role on it, idempotently. Users are created
 * with a password valid until the lease expires; revocation ends their sessions and drops them.
 */
export async function ensureVaultPostgresDynamicRole(vault: NodeVault.client, s: VaultDynamicRoleSetup): Promise<void> {
  const mount = s.mount ?? 'database';
  await ensureVaultPostgresConnection(vault, { mount, connection: s.connection, role: s.role, admin: s.admin });
  await vault.write(vaultApiPath(mount, 'roles', s.role), {
    db_name: s.connection,
    creation_statements: [
      `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      ...(s.grants ?? []),
    ],
    revocation_statements: [
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';`,
      // Privileges granted to the user would block DROP ROLE; DROP OWNED also revokes them.
      `DROP OWNED BY "{{name}}";`,
      `DROP ROLE IF EXISTS "{{name}}";`,
    ],
    default_ttl: s.defaultTtl ?? '24h',
    // Vault caps leases at the mount's max TTL (768h by default).
    max_ttl: s.maxTtl ?? '768h',
  });
}
