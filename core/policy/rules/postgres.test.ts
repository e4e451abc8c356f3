import { describe, expect, it } from 'vitest';
import type { PlaybookInput } from '../../playbook/schema';
import type { PolicyContext } from './context';
import { postgresRefusals } from './postgres';
import { ruleContext } from './test-context';

type PostgresInput = Extract<PlaybookInput['spec']['credential'], { kind: 'postgres-alternating-users' }>;
const allow = {
  postgres: [
    { server: 'main', roles: ['team_a', 'team_b'], databases: ['app'] },
    { server: 'local', roles: ['team_a', 'team_c'] },
  ],
};
const alice: PolicyContext = { requestedBy: 'alice@laptop' };
function refusals(c: Omit<PostgresInput, 'kind'>, request = alice) {
  const ctx = ruleContext(allow, { credential: { kind: 'postgres-alternating-users', ...c } }, request);
  const cred = ctx.playbook.spec.credential;
  if (cred.kind !== 'postgres-alternating-users') throw new Error('not a postgres credential');
  return postgresRefusals(ctx, cred);
}

describe('postgres-alternating-users', () => {
  it("allows the tenant's roles and databases on a policy server, named or the worker's default", () => {
    expect(refusals({ roles: ['team_a', 'team_b'], host: 'DB.example.com', database: 'app' })).toEqual([]);
    expect(refusals({ roles: ['team_b', 'team_a'], host: 'db.example.com', port: 5432 })).toEqual([]);
    expect(
      refusals(
        { roles: ['team_a', 'team_c'], database: 'any' },
        { ...alice, defaultDatabase: { host: '127.0.0.1', port: 55432 } },
      ),
    ).toEqual([]);
  });

  it('sends the admin credentials nowhere but databaseServers', () => {
    expect(refusals({ roles: ['team_a', 'team_b'], host: 'evil.example.com' })).toEqual([
      {
        path: 'spec.credential.host',
        rule: 'databaseServers',
        message:
          "database server evil.example.com:5432 is not one the worker is configured for; rotor's admin credentials only go to databaseServers",
        fix: "add it to databaseServers (and to tenant team's allow.postgres) if it really is one of yours",
      },
    ]);
    expect(refusals({ roles: ['team_a', 'team_b'], host: 'db.example.com', port: 6432 })[0]?.message).toMatch(
      /^database server db\.example\.com:6432 is not one/,
    );
    expect(refusals({ roles: ['team_a', 'team_b'] })).toEqual([
      expect.objectContaining({
        path: 'spec.credential',
        rule: 'databaseServers',
        message: expect.stringMatching(/^database server \(none\):5432 is not one/) as string,
      }),
    ]);
  });

  it("refuses each role and the database the server's entry does not list", () => {
    expect(refusals({ roles: ['team_a', 'orders_a'], host: 'db.example.com', database: 'orders' })).toEqual([
      {
        path: 'spec.credential.roles[1]',
        rule: 'tenants[team].allow.postgres',
        message: "role 'orders_a' on server main is not one the tenant may rotate",
        fix: 'add orders_a to the roles of server main in allow.postgres under tenant team',
      },
      {
        path: 'spec.credential.database',
        rule: 'tenants[team].allow.postgres',
        message: "database 'orders' on server main is not one the tenant may use",
        fix: 'add orders to the databases of server main in allow.postgres under tenant team',
      },
    ]);
    // team_c is the tenant's on the local server only.
    expect(refusals({ roles: ['team_a', 'team_c'], host: 'db.example.com' }).map((r) => r.path)).toEqual([
      'spec.credential.roles[1]',
    ]);
  });
});
