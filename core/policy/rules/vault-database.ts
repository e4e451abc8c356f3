import type { Credential } from '../../playbook/schema';
import { isCanonicalPath } from '../match';
import type { PolicyRefusal } from '../refusal';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

type VaultDatabaseCredential = Extract<
  Credential,
  { kind: 'vault-database-static-role' | 'vault-database-dynamic-role' }
>;

/**
 * Per kind of Vault database role: the tenant's grant list, the role's path under the mount, and
 * what the tenant does with it. A static role grant is no dynamic one: they are other Vault objects.
 */
const kinds = {
  'vault-database-static-role': { allow: 'vaultDatabase', roles: 'static-roles', may: 'rotate' },
  'vault-database-dynamic-role': { allow: 'vaultDatabaseDynamic', roles: 'roles', may: 'mint credentials from' },
} as const;

/**
 * A Vault database engine role, static (`allow.vaultDatabase`) or dynamic
 * (`allow.vaultDatabaseDynamic`): its mount, role and connection, each a Vault path part, must be
 * canonical (no empty, `.` or `..` segment, percent-decoded or not); then the role must be listed
 * for its mount, and the connection too when that entry lists connections.
 */
export function vaultDatabaseRefusals(ctx: RuleContext, cred: VaultDatabaseCredential): PolicyRefusal[] {
  const { allow, roles, may } = kinds[cred.kind];
  const refuse = (field: string, message: string, fix: string) =>
    tenantRefusal(ctx, `spec.credential.${field}`, `allow.${allow}`, message, fix);
  const odd = (['mount', 'role', 'connection'] as const).filter((field) => !isCanonicalPath(cred[field]));
  if (odd.length > 0)
    return odd.map((field) =>
      refuse(
        field,
        `Vault database ${field} '${cred[field]}' has empty, '.' or '..' segments (percent-decoded or not)`,
        'not allow it: write it without them',
      ),
    );
  const entries = ctx.tenant.allow[allow].filter((e) => e.mount === cred.mount && e.roles.includes(cred.role));
  if (entries.length === 0)
    return [
      refuse(
        'role',
        `Vault database role '${cred.mount}/${roles}/${cred.role}' is not one the tenant may ${may}`,
        `add { mount: ${cred.mount}, roles: [${cred.role}] } to allow.${allow}`,
      ),
    ];
  if (entries.some((e) => !e.connections || e.connections.includes(cred.connection))) return [];
  return [
    refuse(
      'connection',
      `Vault database connection '${cred.connection}' is not one the tenant may use`,
      `add ${cred.connection} to the connections of mount ${cred.mount} in allow.${allow}`,
    ),
  ];
}
