import { describe, expect, it } from 'vitest';
import { ruleContext } from './test-context';
import { vaultDatabaseRefusals } from './vault-database';

type Kind = 'vault-database-static-role' | 'vault-database-dynamic-role';
const grant = [
  { roles: ['team'], connections: ['team-db'] },
  { mount: 'db-eu', roles: ['team', 'team-eu'] },
];
const allow = { vaultDatabase: grant, vaultDatabaseDynamic: grant };
/** The credential is set after parsing: the rule must hold for names the playbook schema refuses too. */
function refusals(kind: Kind, c: { mount?: string; role: string; connection: string }, grants: object = allow) {
  const ctx = ruleContext(grants, { credential: { kind, role: 'team', connection: 'team-db' } });
  const parsed = ctx.playbook.spec.credential;
  if (parsed.kind !== kind) throw new Error(`not a ${kind}`);
  const cred = { ...parsed, mount: 'database', ...c };
  return vaultDatabaseRefusals(ctx, cred);
}

describe.each([
  { kind: 'vault-database-static-role', allow: 'allow.vaultDatabase', roles: 'static-roles', may: 'rotate' },
  {
    kind: 'vault-database-dynamic-role',
    allow: 'allow.vaultDatabaseDynamic',
    roles: 'roles',
    may: 'mint credentials from',
  },
] as const)('$kind', ({ kind, allow: rule, roles, may }) => {
  it('allows a role listed for its mount, on a listed connection or any when none are', () => {
    expect(refusals(kind, { role: 'team', connection: 'team-db' })).toEqual([]);
    expect(refusals(kind, { mount: 'db-eu', role: 'team-eu', connection: 'anything' })).toEqual([]);
  });

  it('refuses a role not listed for its mount', () => {
    expect(refusals(kind, { role: 'team-eu', connection: 'team-db' })).toEqual([
      {
        path: 'spec.credential.role',
        rule: `tenants[team].${rule}`,
        message: `Vault database role 'database/${roles}/team-eu' is not one the tenant may ${may}`,
        fix: `add { mount: database, roles: [team-eu] } to ${rule} under tenant team`,
      },
    ]);
  });

  it('refuses a connection the entry does not list', () => {
    expect(refusals(kind, { role: 'team', connection: 'orders-db' })).toEqual([
      {
        path: 'spec.credential.connection',
        rule: `tenants[team].${rule}`,
        message: "Vault database connection 'orders-db' is not one the tenant may use",
        fix: `add orders-db to the connections of mount database in ${rule} under tenant team`,
      },
    ]);
  });

  it('refuses mount, role and connection with dot segments, percent-encoded or not, whatever is granted', () => {
    const odd = { mount: 'database/%2e%2e/sys', role: 'team/..', connection: 'x%2f%2e%2e' };
    const granted = [{ mount: odd.mount, roles: [odd.role], connections: [odd.connection] }];
    expect(refusals(kind, odd, { vaultDatabase: granted, vaultDatabaseDynamic: granted })).toEqual(
      (['mount', 'role', 'connection'] as const).map((field) => ({
        path: `spec.credential.${field}`,
        rule: `tenants[team].${rule}`,
        message: `Vault database ${field} '${odd[field]}' has empty, '.' or '..' segments (percent-decoded or not)`,
        fix: 'not allow it: write it without them under tenant team',
      })),
    );
  });
});

describe('static and dynamic grants', () => {
  it('are apart: a static role grant is no dynamic one, nor the other way round', () => {
    const role = { role: 'team', connection: 'team-db' };
    expect(refusals('vault-database-dynamic-role', role, { vaultDatabase: grant })[0]?.message).toBe(
      "Vault database role 'database/roles/team' is not one the tenant may mint credentials from",
    );
    expect(refusals('vault-database-static-role', role, { vaultDatabaseDynamic: grant })[0]?.message).toBe(
      "Vault database role 'database/static-roles/team' is not one the tenant may rotate",
    );
  });
});
