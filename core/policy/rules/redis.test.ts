import { describe, expect, it } from 'vitest';
import type { PlaybookInput } from '../../playbook/schema';
import { redisAclUserRefusals, redisAuthCanaryRefusals } from './redis';
import { ruleContext } from './test-context';

type RedisInput = Extract<PlaybookInput['spec']['credential'], { kind: 'redis-acl-user' }>;
type RedisAuthInput = Extract<NonNullable<PlaybookInput['spec']['canaries']>[number], { type: 'redis-auth' }>;

const allow = {
  redis: [
    { server: 'cache', users: ['app'] },
    { server: 'local', users: ['worker'] },
  ],
  canaries: { redisAuth: { servers: ['cache'] } },
};

function refusals(c: Omit<RedisInput, 'kind'>) {
  const ctx = ruleContext(allow, { credential: { kind: 'redis-acl-user', ...c } });
  const cred = ctx.playbook.spec.credential;
  if (cred.kind !== 'redis-acl-user') throw new Error('not a redis credential');
  return redisAclUserRefusals(ctx, cred);
}

function canaryRefusals(c: Omit<RedisAuthInput, 'type' | 'name'>, tenantAllow: typeof allow = allow) {
  const ctx = ruleContext(tenantAllow, { canaries: [{ type: 'redis-auth', name: 'auth', ...c }] });
  const canary = ctx.playbook.spec.canaries[0];
  if (canary?.type !== 'redis-auth') throw new Error('not a redis-auth canary');
  return redisAuthCanaryRefusals(ctx, canary, 'spec.canaries[0]');
}

describe('redis-acl-user', () => {
  it("allows the tenant's users on a policy server with the server's TLS setting", () => {
    expect(refusals({ user: 'app', host: 'CACHE.example.com', port: 6380, tls: true })).toEqual([]);
    expect(refusals({ user: 'worker', host: '127.0.0.1' })).toEqual([]);
  });

  it('sends the Redis admin credentials nowhere but redisServers', () => {
    expect(refusals({ user: 'app', host: 'evil.example.com', port: 6380, tls: true })).toEqual([
      {
        path: 'spec.credential.host',
        rule: 'redisServers',
        message:
          "Redis server evil.example.com:6380 is not one the worker is configured for; rotor's Redis credentials only go to redisServers",
        fix: "add it to redisServers (and to tenant team's allow.redis) if it really is one of yours",
      },
    ]);
    // Same host, another port: another server.
    expect(refusals({ user: 'app', host: 'cache.example.com', tls: true })[0]?.rule).toBe('redisServers');
  });

  it('refuses a plaintext connection to a TLS server (the admin password would travel unencrypted)', () => {
    expect(refusals({ user: 'app', host: 'cache.example.com', port: 6380, tls: false })).toEqual([
      {
        path: 'spec.credential.tls',
        rule: 'redisServers',
        message: 'Redis server cache (cache.example.com:6380) is reached with tls: true, the playbook says tls: false',
        fix: 'write tls: true',
      },
    ]);
  });

  it('refuses a user the server entry does not list, and a user listed for another server only', () => {
    expect(refusals({ user: 'orders', host: 'cache.example.com', port: 6380, tls: true })).toEqual([
      {
        path: 'spec.credential.user',
        rule: 'tenants[team].allow.redis',
        message: "Redis ACL user 'orders' on server cache is not one the tenant may rotate",
        fix: 'add orders to the users of server cache in allow.redis under tenant team',
      },
    ]);
    expect(refusals({ user: 'worker', host: 'cache.example.com', port: 6380, tls: true })[0]?.path).toBe(
      'spec.credential.user',
    );
    expect(refusals({ user: 'default', host: '127.0.0.1' })[0]?.message).toBe(
      "Redis ACL user 'default' on server local is not one the tenant may rotate",
    );
  });
});

describe('redis-auth canary', () => {
  it("sends the new password only to the tenant's canary servers", () => {
    expect(canaryRefusals({ host: 'cache.example.com', port: 6380, tls: true })).toEqual([]);
    expect(canaryRefusals({ host: '127.0.0.1' })).toEqual([
      {
        path: 'spec.canaries[0].host',
        rule: 'tenants[team].allow.canaries.redisAuth',
        message: "redis-auth canary to server local is not allowed; it may only authenticate to the tenant's servers",
        fix: 'add local to allow.canaries.redisAuth.servers under tenant team',
      },
    ]);
    expect(canaryRefusals({ host: '203.0.113.7' })[0]).toMatchObject({
      path: 'spec.canaries[0].host',
      rule: 'redisServers',
    });
    expect(canaryRefusals({ host: 'cache.example.com', port: 6380 })[0]).toMatchObject({
      path: 'spec.canaries[0].tls',
      rule: 'redisServers',
    });
    expect(canaryRefusals({ host: 'cache.example.com', port: 6380, tls: true }, { redis: [] } as never)).toEqual([
      expect.objectContaining({ rule: 'tenants[team].allow.canaries.redisAuth' }),
    ]);
  });
});
