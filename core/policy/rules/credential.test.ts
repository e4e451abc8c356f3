import { describe, expect, it } from 'vitest';
import type { PlaybookInput } from '../../playbook/schema';
import { credentialRule } from './credential';
import { ruleContext } from './test-context';

type CredentialInput = PlaybookInput['spec']['credential'];
const allow = {
  iamUsers: ['team-ci'],
  postgres: [{ server: 'main', roles: ['team_a', 'team_b'] }],
  vaultDatabase: [{ roles: ['team'] }],
  vaultDatabaseDynamic: [{ roles: ['team-reports'] }],
  redis: [{ server: 'local', users: ['team-app'] }],
};
const refusals = (credential: CredentialInput, grants: object = allow) =>
  credentialRule(ruleContext(grants, { credential }));

describe('credential rule', () => {
  it('allows every kind the tenant owns', () => {
    expect(refusals({ kind: 'random' })).toEqual([]);
    expect(refusals({ kind: 'aws-iam-access-key', userName: 'team-ci' })).toEqual([]);
    expect(
      refusals({ kind: 'postgres-alternating-users', roles: ['team_a', 'team_b'], host: 'db.example.com' }),
    ).toEqual([]);
    expect(refusals({ kind: 'vault-database-static-role', role: 'team', connection: 'c' })).toEqual([]);
    expect(refusals({ kind: 'vault-database-dynamic-role', role: 'team-reports', connection: 'c' })).toEqual([]);
    expect(refusals({ kind: 'redis-acl-user', user: 'team-app', host: '127.0.0.1' })).toEqual([]);
  });

  it('allows a random credential even to a tenant granted nothing: only the store holds it', () => {
    expect(refusals({ kind: 'random' }, {})).toEqual([]);
  });

  it("refuses another IAM user's keys", () => {
    expect(refusals({ kind: 'aws-iam-access-key', userName: 'orders-ci' })).toEqual([
      {
        path: 'spec.credential.userName',
        rule: 'tenants[team].allow.iamUsers',
        message: "IAM user 'orders-ci' is not one the tenant may rotate",
        fix: 'add orders-ci to allow.iamUsers under tenant team',
      },
    ]);
  });

  it('refuses every other kind to a tenant granted nothing, each under its own rule', () => {
    const rules = (credential: CredentialInput) => refusals(credential, {}).map((r) => `${r.path} ${r.rule}`);
    expect(rules({ kind: 'postgres-alternating-users', roles: ['a', 'b'], host: 'db.example.com' })).toEqual([
      'spec.credential.roles[0] tenants[team].allow.postgres',
      'spec.credential.roles[1] tenants[team].allow.postgres',
    ]);
    expect(rules({ kind: 'vault-database-static-role', role: 'team', connection: 'c' })).toEqual([
      'spec.credential.role tenants[team].allow.vaultDatabase',
    ]);
    expect(rules({ kind: 'mariadb-users', users: ['a', 'b'], host: 'maria.example.com' })).toEqual([
      'spec.credential.users[0] tenants[team].allow.mariadb',
      'spec.credential.users[1] tenants[team].allow.mariadb',
      'spec.credential.userHost tenants[team].allow.mariadb',
    ]);
    // Issue 19: the dynamic role used to be allowed to every tenant.
    expect(rules({ kind: 'vault-database-dynamic-role', role: 'team-reports', connection: 'c' })).toEqual([
      'spec.credential.role tenants[team].allow.vaultDatabaseDynamic',
    ]);
    expect(rules({ kind: 'redis-acl-user', user: 'team-app', host: '127.0.0.1' })).toEqual([
      'spec.credential.user tenants[team].allow.redis',
    ]);
  });
});
