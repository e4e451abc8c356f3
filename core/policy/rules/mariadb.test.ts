import { describe, expect, it } from 'vitest';
import type { PlaybookInput } from '../../playbook/schema';
import { canariesRule } from './canaries';
import type { PolicyContext } from './context';
import { mariadbRefusals } from './mariadb';
import { ruleContext } from './test-context';

type MariadbInput = Extract<PlaybookInput['spec']['credential'], { kind: 'mariadb-users' }>;
const allow = {
  mariadb: [
    { server: 'maria', users: ['team_a', 'team_b'], databases: ['app'] },
    { server: 'local-maria', users: ['team_a', 'team_c', 'team_one'], userHosts: ['%', '10.0.0.%'] },
  ],
  canaries: { mariadbLogin: { servers: ['maria'] } },
};
const alice: PolicyContext = { requestedBy: 'alice@laptop' };
function refusals(c: Omit<MariadbInput, 'kind'>, request = alice) {
  const ctx = ruleContext(allow, { credential: { kind: 'mariadb-users', ...c } }, request);
  const cred = ctx.playbook.spec.credential;
  if (cred.kind !== 'mariadb-users') throw new Error('not a mariadb credential');
  return mariadbRefusals(ctx, cred);
}

describe('mariadb-users', () => {
  it("allows the tenant's users, host parts and databases on a policy server, named or the worker's default", () => {
    expect(refusals({ users: ['team_a', 'team_b'], host: 'MARIA.example.com', database: 'app' })).toEqual([]);
    expect(refusals({ users: ['team_b', 'team_a'], host: 'maria.example.com', port: 3306 })).toEqual([]);
    const local = { ...alice, defaultMariadb: { host: '127.0.0.1', port: 53306 } };
    expect(refusals({ users: ['team_a', 'team_c'], userHost: '10.0.0.%', database: 'any' }, local)).toEqual([]);
    expect(refusals({ users: ['team_one'], retainCurrentPassword: true }, local)).toEqual([]);
  });

  it('sends the admin account nowhere but mariadbServers (never to a PostgreSQL server of the policy)', () => {
    expect(refusals({ users: ['team_a', 'team_b'], host: 'evil.example.com' })).toEqual([
      {
        path: 'spec.credential.host',
        rule: 'mariadbServers',
        message:
          "MariaDB server evil.example.com:3306 is not one the worker is configured for; rotor's admin credentials only go to mariadbServers",
        fix: "add it to mariadbServers (and to tenant team's allow.mariadb) if it really is one of yours",
      },
    ]);
    expect(refusals({ users: ['team_a', 'team_b'], host: '127.0.0.1', port: 55432 })[0]?.rule).toBe('mariadbServers');
    expect(refusals({ users: ['team_a', 'team_b'], host: 'maria.example.com', port: 3307 })[0]?.message).toMatch(
      /^MariaDB server maria\.example\.com:3307 is not one/,
    );
    expect(refusals({ users: ['team_a', 'team_b'] })).toEqual([
      expect.objectContaining({
        path: 'spec.credential',
        rule: 'mariadbServers',
        message: expect.stringMatching(/^MariaDB server \(none\):3306 is not one/) as string,
      }),
    ]);
  });

  it("refuses each user, the host part and the database the server's entry does not list, in field order", () => {
    expect(
      refusals({ users: ['team_a', 'orders_a'], userHost: 'localhost', host: 'maria.example.com', database: 'orders' }),
    ).toEqual([
      {
        path: 'spec.credential.users[1]',
        rule: 'tenants[team].allow.mariadb',
        message: "user 'orders_a' on server maria is not one the tenant may rotate",
        fix: 'add orders_a to the users of server maria in allow.mariadb under tenant team',
      },
      {
        path: 'spec.credential.userHost',
        rule: 'tenants[team].allow.mariadb',
        message: "accounts '…'@'localhost' on server maria are not ones the tenant may rotate",
        fix: "add 'localhost' to the userHosts of server maria in allow.mariadb under tenant team",
      },
      {
        path: 'spec.credential.database',
        rule: 'tenants[team].allow.mariadb',
        message: "database 'orders' on server maria is not one the tenant may use",
        fix: 'add orders to the databases of server maria in allow.mariadb under tenant team',
      },
    ]);
    // team_c is the tenant's on the local server only; retainCurrentPassword widens nothing.
    expect(
      refusals({ users: ['team_c'], retainCurrentPassword: true, host: 'maria.example.com' }).map((r) => r.path),
    ).toEqual(['spec.credential.users[0]']);
  });

  it('lets mariadb-login canaries log in only to the servers the tenant lists', () => {
    const canaries = (host: string | undefined, port?: number, grants: object = allow) =>
      canariesRule(ruleContext(grants, { canaries: [{ type: 'mariadb-login', name: 'm', host, port }] }, alice)).map(
        (r) => `${r.path} ${r.rule}: ${r.message}`,
      );
    expect(canaries('maria.example.com')).toEqual([]);
    expect(canaries('127.0.0.1', 53306)).toEqual([
      "spec.canaries[0].host tenants[team].allow.canaries.mariadbLogin: mariadb-login canary to 127.0.0.1:53306 (server local-maria) is not allowed; it may only log in to the tenant's servers",
    ]);
    expect(canaries('169.254.169.254')).toEqual([
      "spec.canaries[0].host tenants[team].allow.canaries.mariadbLogin: mariadb-login canary to 169.254.169.254:3306 is not allowed; it may only log in to the tenant's servers",
    ]);
    expect(canaries(undefined, undefined, {})).toEqual([
      "spec.canaries[0].type tenants[team].allow.canaries.mariadbLogin: mariadb-login canary to (none):3306 is not allowed; it may only log in to the tenant's servers",
    ]);
  });
});
