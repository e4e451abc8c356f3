import { describe, expect, it } from 'vitest';
import { PolicyFileError, loadPolicyFile, parsePolicy, policyFromEnv } from './policy-file';
import { isForbiddenAddress } from '../core/policy/addresses';
import { evaluatePolicy, formatRefusal } from '../core/policy/evaluate';
import type { PolicyContext } from '../core/policy/evaluate';
import { storeLockKey } from '../core/policy/lock';
import type { PlaybookInput } from '../core/playbook/schema';
import { playbookSchema } from '../core/playbook/schema';
import { sameActor } from '../core/policy/actors';

const policy = loadPolicyFile('dev/policy/two-teams.yaml');
const payments: PolicyContext = {
  playbookFile: 'playbooks/payments/api.yaml',
  requestedBy: 'alice@laptop',
  defaultDatabase: { host: '127.0.0.1', port: 55432 },
  defaultRegion: 'us-east-1',
};

function playbook(spec: Partial<PlaybookInput['spec']>, labels?: Record<string, string>) {
  return playbookSchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotationPlaybook',
    metadata: { name: 'p', ...(labels ? { labels } : {}) },
    spec: {
      secret: { name: 'p', store: { type: 'vault', mount: 'secret', path: 'apps/payments/api-key' } },
      credential: { kind: 'random' },
      ...spec,
    },
  });
}
const refusals = (spec: Partial<PlaybookInput['spec']>, ctx = payments) =>
  evaluatePolicy(policy, playbook(spec), ctx).map((r) => ({ path: r.path, rule: r.rule }));

describe('policy file', () => {
  it('loads the examples', () => {
    expect(policy.tenants.map((t) => t.name)).toEqual(['payments', 'orders']);
    expect(loadPolicyFile('dev/policy/allow-all.yaml').allowAll).toBe(true);
  });

  it('names the path of every problem', () => {
    const text = [
      'apiVersion: rotor.dev/v1',
      'kind: RotorPolicy',
      'tenants:',
      '  - name: a',
      '    match: { requesterGroups: [nobody] }',
      '    allow: { vault: [{ pathPrefix: x }], postgres: [{ server: db, roles: [r] }], iamUser: [x] }',
    ].join('\n');
    expect(() => parsePolicy(text, 'p.yaml')).toThrow(PolicyFileError);
    try {
      parsePolicy(text, 'p.yaml');
    } catch (e) {
      expect((e as Error).message).toContain(
        'p.yaml: tenants[0].allow.iamUser: unknown field; remove it or fix the spelling',
      );
    }
    const unknownGroup = text.replace(', iamUser: [x]', '');
    expect(() => parsePolicy(unknownGroup, 'p.yaml')).toThrow(
      /tenants\[0\]\.match\.requesterGroups\[0\]: group 'nobody' is not defined under groups[\s\S]*tenants\[0\]\.allow\.postgres\[0\]\.server: database server 'db' is not defined/,
    );
    const unknownRedis = text.replace(
      'iamUser: [x]',
      'redis: [{ server: cache, users: [u] }], canaries: { redisAuth: { servers: [cache] } }',
    );
    expect(() => parsePolicy(unknownRedis, 'p.yaml')).toThrow(
      /tenants\[0\]\.allow\.redis\[0\]\.server: Redis server 'cache' is not defined under redisServers[\s\S]*tenants\[0\]\.allow\.canaries\.redisAuth\.servers\[0\]: Redis server 'cache' is not defined/,
    );
  });

  it('is required at startup, with an error saying what to do', () => {
    expect(() => policyFromEnv({})).toThrow(/ROTOR_POLICY_FILE: not set: the worker needs an admin policy/);
    expect(() => policyFromEnv({ ROTOR_POLICY_FILE: '/nonexistent.yaml' })).toThrow(
      /\/nonexistent\.yaml: cannot read policy: ENOENT/,
    );
  });
});

describe('evaluatePolicy', () => {
  it('allows what the tenant owns', () => {
    expect(
      refusals({
        clusters: [{ name: 'cluster-a', delivery: 'push', namespace: 'payments', secretName: 's' }],
        credential: { kind: 'postgres-alternating-users', roles: ['payments_a', 'payments_b'] },
        canaries: [
          { type: 'http', name: 'h', url: 'https://api.payments.example.com/ping' },
          { type: 'postgres-login', name: 'pg' },
          {
            type: 'kubernetes-job',
            name: 'k',
            cluster: 'cluster-a',
            namespace: 'payments',
            image: 'registry.example.com/payments/canary:1',
            command: ['true'],
            serviceAccountName: 'payments-canary',
          },
        ],
      }),
    ).toEqual([]);
  });

  it("refuses another team's store locations, naming the field and the rule", () => {
    const r = evaluatePolicy(
      policy,
      playbook({ secret: { name: 'p', store: { type: 'vault', mount: 'secret', path: 'apps/orders/db' } } }),
      payments,
    );
    expect(r).toHaveLength(1);
    expect(formatRefusal(r[0]!)).toMatch(
      /^spec\.secret\.store\.path: vault location secret\/apps\/orders\/db is not one of the tenant's store locations \(policy rule tenants\[payments\]\.allow\.vault; to allow it an admin would add/,
    );
    expect(refusals({ secret: { name: 'p', store: { type: 'vault', path: 'apps/paymentsx/db' } } })).toHaveLength(1);
    expect(refusals({ secret: { name: 'p', store: { type: 'aws', secretId: 'orders/db' } } })).toEqual([
      { path: 'spec.secret.store.secretId', rule: 'tenants[payments].allow.aws' },
    ]);
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:payments/api-AbCdEf';
    expect(refusals({ secret: { name: 'p', store: { type: 'aws', secretId: arn } } })).toEqual([]);
  });

  it('lets a store assume only the IAM roles the admin listed for that secret', () => {
    const store = (secretId: string, roleArn: string) => ({
      secret: { name: 'p', store: { type: 'aws' as const, secretId, roleArn } },
    });
    const own = 'arn:aws:iam::123456789012:role/rotor-payments-secrets';
    expect(refusals(store('payments/api', own))).toEqual([]);
    const admin = 'arn:aws:iam::123456789012:role/admin';
    const r = evaluatePolicy(policy, playbook(store('payments/api', admin)), payments);
    expect(r.map((x) => ({ path: x.path, rule: x.rule }))).toEqual([
      { path: 'spec.secret.store.roleArn', rule: 'tenants[payments].allow.aws[].roleArns' },
    ]);
    expect(formatRefusal(r[0]!)).toContain(
      `IAM role '${admin}' is not one the tenant may assume for Secrets Manager secret 'payments/api'`,
    );
    // The payments role is no key to the orders team's secrets: that store is refused on its own.
    expect(refusals(store('orders/db', own))).toEqual([
      { path: 'spec.secret.store.secretId', rule: 'tenants[payments].allow.aws' },
    ]);
    expect(() => playbook(store('payments/api', 'arn:aws:iam::123:user/x'))).toThrow(/must be an IAM role ARN/);
  });

  it('refuses foreign contexts, namespaces, roles, users and database hosts', () => {
    expect(
      refusals({
        clusters: [
          { name: 'cluster-c', delivery: 'push', namespace: 'payments', secretName: 's' },
          { name: 'a', context: 'cluster-a', delivery: 'push', namespace: 'orders', secretName: 's' },
        ],
        credential: { kind: 'postgres-alternating-users', roles: ['payments_a', 'orders_a'] },
      }),
    ).toEqual([
      { path: 'spec.clusters[0].name', rule: 'tenants[payments].allow.clusters' },
      { path: 'spec.clusters[1].namespace', rule: 'tenants[payments].allow.clusters' },
      { path: 'spec.credential.roles[1]', rule: 'tenants[payments].allow.postgres' },
    ]);
    expect(
      refusals({
        credential: {
          kind: 'postgres-alternating-users',
          roles: ['payments_a', 'payments_b'],
          host: 'evil.example.com',
        },
      }),
    ).toEqual([{ path: 'spec.credential.host', rule: 'databaseServers' }]);
    expect(refusals({ credential: { kind: 'aws-iam-access-key', userName: 'orders-ci' } })).toEqual([
      { path: 'spec.credential.userName', rule: 'tenants[payments].allow.iamUsers' },
    ]);
    expect(refusals({ credential: { kind: 'vault-database-static-role', role: 'orders', connection: 'db' } })).toEqual([
      { path: 'spec.credential.role', rule: 'tenants[payments].allow.vaultDatabase' },
    ]);
  });

  it('refuses canaries the tenant may not run', () => {
    const job = {
      type: 'kubernetes-job' as const,
      name: 'k',
      cluster: 'cluster-b',
      namespace: 'kube-system',
      image: 'evil/image',
      command: ['sh'],
      serviceAccountName: 'admin',
    };
    expect(
      refusals({
        canaries: [
          { type: 'command', name: 'c', command: ['env'] },
          { type: 'http', name: 'm', url: 'https://169.254.169.254/latest/meta-data' },
          { type: 'http', name: 'p', url: 'http://api.payments.example.com/ping' },
          { type: 'http', name: 'o', url: 'https://other.example.com/' },
          { type: 'postgres-login', name: 'pg', host: 'evil.example.com' },
          job,
        ],
      }),
    ).toEqual([
      { path: 'spec.canaries[0].type', rule: 'tenants[payments].allow.canaries.command' },
      { path: 'spec.canaries[1].url', rule: 'tenants[payments].allow.canaries.http' },
      { path: 'spec.canaries[2].url', rule: 'tenants[payments].allow.canaries.http.allowPlainHttp' },
      { path: 'spec.canaries[3].url', rule: 'tenants[payments].allow.canaries.http.hosts' },
      { path: 'spec.canaries[4].host', rule: 'tenants[payments].allow.canaries.postgresLogin' },
      { path: 'spec.canaries[5].cluster', rule: 'tenants[payments].allow.canaries.kubernetesJob.contexts' },
      { path: 'spec.canaries[5].namespace', rule: 'tenants[payments].allow.canaries.kubernetesJob.namespaces' },
      { path: 'spec.canaries[5].image', rule: 'tenants[payments].allow.canaries.kubernetesJob.images' },
      {
        path: 'spec.canaries[5].serviceAccountName',
        rule: 'tenants[payments].allow.canaries.kubernetesJob.serviceAccounts',
      },
    ]);
  });

  it('picks the tenant by directory, labels and requester group; no tenant refuses', () => {
    const orders = playbook(
      { secret: { name: 'p', store: { type: 'vault', path: 'apps/orders/db' } } },
      { team: 'orders' },
    );
    const ctx = { ...payments, playbookFile: 'elsewhere/x.yaml' };
    expect(evaluatePolicy(policy, orders, { ...ctx, requestedBy: 'carol@ci' })).toEqual([]);
    // The label alone is the author's claim: the requester must be in the tenant's group too.
    expect(evaluatePolicy(policy, orders, { ...ctx, requestedBy: 'mallory@ci' }).map((r) => r.rule)).toEqual([
      'tenants[].match',
    ]);
    expect(evaluatePolicy(policy, orders, { ...ctx, playbookFile: 'playbooks/paymentsx/a.yaml' })[0]?.rule).toBe(
      'tenants[].match',
    );
    expect(evaluatePolicy(loadPolicyFile('dev/policy/allow-all.yaml'), orders, ctx)).toEqual([]);
  });
});

describe('store lock keys', () => {
  it('are the location, not the secret name', () => {
    expect(storeLockKey({ type: 'vault', mount: 'secret', path: 'apps/x', key: 'value' }, 'us-east-1')).toBe(
      'vault/secret/apps/x',
    );
    const byName = storeLockKey({ type: 'aws', secretId: 'payments/api' }, 'us-east-1');
    const byArn = storeLockKey(
      { type: 'aws', secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:payments/api-AbCdEf' },
      'us-east-1',
    );
    expect(byArn).toBe(byName);
    expect(storeLockKey({ type: 'aws', secretId: 'payments/api', region: 'eu-west-1' }, 'us-east-1')).not.toBe(byName);
  });
});

describe('forbidden addresses', () => {
  it('are link-local and metadata addresses in every spelling', () => {
    for (const a of [
      '169.254.169.254',
      '169.254.0.1',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      'fe80::1',
      '[fe80::1]',
      'febf::1',
      'fd00:ec2::254',
      '100.100.100.200',
      'metadata.google.internal',
    ])
      expect({ a, forbidden: isForbiddenAddress(a) }).toEqual({ a, forbidden: true });
    for (const a of ['127.0.0.1', '10.0.0.1', '::1', 'fec0::1', 'api.example.com', '170.254.1.1'])
      expect({ a, forbidden: isForbiddenAddress(a) }).toEqual({ a, forbidden: false });
  });
});

describe('separation of duties', () => {
  it('sees one person behind different hosts', () => {
    expect(sameActor('alice@laptop', 'Alice@ci')).toBe(true);
    expect(sameActor('alice@laptop', 'bob@laptop')).toBe(false);
  });
});
