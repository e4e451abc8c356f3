import { describe, expect, it } from 'vitest';
import type { Store } from '../../playbook/schema';
import { storeRule } from './store';
import { ruleContext } from './test-context';

const allow = {
  vault: [{ pathPrefix: 'apps/team' }, { mount: 'kv', pathPrefix: 'shared/team' }],
  aws: [
    {
      secretIdPrefix: 'team/',
      region: 'eu-west-1',
      account: '123456789012',
      roleArns: ['arn:aws:iam::123456789012:role/team-*'],
    },
    { secretIdPrefix: 'team/legacy' },
  ],
};
/** The store is set after parsing: the rule must hold for stores the playbook schema refuses too. */
function refusals(store: Partial<Store>, defaultRegion?: string) {
  const ctx = ruleContext(allow, {}, { requestedBy: 'alice@laptop', defaultRegion });
  const full = (store.type === 'vault' ? { mount: 'secret', key: 'value', ...store } : store) as Store;
  const spec = { ...ctx.playbook.spec, secret: { name: 'p', store: full } };
  return storeRule({ ...ctx, playbook: { ...ctx.playbook, spec } });
}
const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;

describe('store rule: Vault', () => {
  it('allows paths under a prefix of the same mount', () => {
    expect(refusals({ type: 'vault', path: 'apps/team/api' })).toEqual([]);
    expect(refusals({ type: 'vault', path: 'apps/team' })).toEqual([]);
    expect(refusals({ type: 'vault', mount: 'kv', path: 'shared/team/x' })).toEqual([]);
  });

  it("refuses another mount's prefix, a longer segment and another team's path", () => {
    for (const [mount, path] of [
      ['kv', 'apps/team/api'],
      ['secret', 'apps/teamx/api'],
      ['secret', 'apps/orders/db'],
    ] as const)
      expect(refusals({ type: 'vault', mount, path })).toEqual([
        {
          path: 'spec.secret.store.path',
          rule: 'tenants[team].allow.vault',
          message: `vault location ${mount}/${path} is not one of the tenant's store locations`,
          fix: `add { mount: ${mount}, pathPrefix: ${path} } to allow.vault under tenant team`,
        },
      ]);
  });

  it('refuses paths with dot segments, also percent-encoded, before looking at prefixes', () => {
    for (const [mount, path] of [
      ['secret', 'apps/team/../orders/db'],
      ['secret', 'apps/team/%2e%2e/orders/db'],
      ['secret', 'apps/team%2f..%2forders/db'],
      ['secret', 'apps/team/%252e%252e/orders/db'],
      ['%2e%2e', 'apps/team/api'],
    ])
      expect(refusals({ type: 'vault', mount, path })).toEqual([
        {
          path: 'spec.secret.store.path',
          rule: 'tenants[team].allow.vault',
          message: `vault path '${mount}/${path}' has empty, '.' or '..' segments`,
          fix: 'not allow it: write the path without them under tenant team',
        },
      ]);
  });
});

describe('store rule: Secrets Manager', () => {
  it('allows a name (or the name in an ARN) under a prefix, in its region', () => {
    expect(refusals({ type: 'aws', secretId: 'team/api', region: 'eu-west-1' })).toEqual([]);
    expect(refusals({ type: 'aws', secretId: 'team/api' }, 'eu-west-1')).toEqual([]);
    expect(
      refusals({ type: 'aws', secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/a-Ab' }),
    ).toEqual([]);
    expect(refusals({ type: 'aws', secretId: 'team/legacy/x', region: 'us-east-1' })).toEqual([]);
  });

  it('refuses other names and other regions', () => {
    expect(refusals({ type: 'aws', secretId: 'orders/db' })).toEqual([
      {
        path: 'spec.secret.store.secretId',
        rule: 'tenants[team].allow.aws',
        message: "Secrets Manager secret 'orders/db' (region default) is not one of the tenant's store locations",
        fix: 'add { secretIdPrefix: orders/db } to allow.aws under tenant team',
      },
    ]);
    expect(refusals({ type: 'aws', secretId: 'team/api' }, 'us-east-1')[0]?.message).toBe(
      "Secrets Manager secret 'team/api' (region us-east-1) is not one of the tenant's store locations",
    );
  });

  it('matches prefixes by whole segments: team/legacy does not allow team/legacyx', () => {
    expect(refusals({ type: 'aws', secretId: 'team/legacy', region: 'us-east-1' })).toEqual([]);
    expect(refusals({ type: 'aws', secretId: 'team/legacyx', region: 'us-east-1' })[0]?.message).toBe(
      "Secrets Manager secret 'team/legacyx' (region us-east-1) is not one of the tenant's store locations",
    );
  });

  it('refuses an ARN of another account, and an ARN where the entry names no account', () => {
    const other = 'arn:aws:secretsmanager:eu-west-1:999999999999:secret:team/a-Ab';
    expect(refusals({ type: 'aws', secretId: other })).toEqual([
      {
        path: 'spec.secret.store.secretId',
        rule: 'tenants[team].allow.aws[].account',
        message: `Secrets Manager secret '${other}' is in account 999999999999, which the tenant's allow.aws entry does not name`,
        fix: 'set account: 999999999999 on the allow.aws entry with secretIdPrefix team/, or name the secret without an ARN under tenant team',
      },
    ]);
    const legacy = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:team/legacy/x-Ab';
    expect(refusals({ type: 'aws', secretId: legacy })[0]?.rule).toBe('tenants[team].allow.aws[].account');
  });

  it('lets the store assume only a role listed for that secret', () => {
    expect(refusals({ type: 'aws', secretId: 'team/api', region: 'eu-west-1', roleArn: role('team-ci') })).toEqual([]);
    expect(refusals({ type: 'aws', secretId: 'team/api', region: 'eu-west-1', roleArn: role('admin') })).toEqual([
      {
        path: 'spec.secret.store.roleArn',
        rule: 'tenants[team].allow.aws[].roleArns',
        message: `IAM role '${role('admin')}' is not one the tenant may assume for Secrets Manager secret 'team/api'`,
        fix: `add ${role('admin')} to roleArns of the allow.aws entry with secretIdPrefix team/ under tenant team`,
      },
    ]);
    // The legacy entry lists no roles: none may be assumed for its secrets.
    expect(refusals({ type: 'aws', secretId: 'team/legacy/x', region: 'us-east-1', roleArn: role('team-ci') })).toEqual(
      [expect.objectContaining({ path: 'spec.secret.store.roleArn', rule: 'tenants[team].allow.aws[].roleArns' })],
    );
  });
});
