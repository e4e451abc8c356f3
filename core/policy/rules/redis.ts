import type { Canary, Credential } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import type { Policy } from '../schema';
import { tenantRefusal } from './context';
import type { RuleContext } from './context';

type RedisCredential = Extract<Credential, { kind: 'redis-acl-user' }>;
type RedisAuthCanary = Extract<Canary, { type: 'redis-auth' }>;

/** Where a playbook points a Redis connection. */
interface RedisAddress {
  host: string;
  port: number;
  tls: boolean;
}

/** The policy's name for the Redis server at host:port, and whether its `tls` differs from the playbook's. */
export function redisServerAt(policy: Policy, a: RedisAddress): { server: string | undefined; tlsDiffers: boolean } {
  const found = Object.entries(policy.redisServers).find(
    ([, s]) => s.host.toLowerCase() === a.host.toLowerCase() && s.port === a.port,
  );
  return { server: found?.[0], tlsDiffers: found !== undefined && found[1].tls !== a.tls };
}

/**
 * A refusal by the policy's `redisServers` (not the tenant's) when host:port is none of them, or
 * when the playbook's `tls` differs from the server's: a plaintext connection to a TLS server
 * would send the admin password unencrypted (or fail), so it is refused before anything is sent.
 */
function serverRefusal(ctx: RuleContext, a: RedisAddress, path: string): PolicyRefusal | string {
  const where = `${a.host}:${a.port}`;
  const { server, tlsDiffers } = redisServerAt(ctx.policy, a);
  if (!server)
    return {
      path: `${path}.host`,
      rule: 'redisServers',
      message: `Redis server ${where} is not one the worker is configured for; rotor's Redis credentials only go to redisServers`,
      fix: `add it to redisServers (and to tenant ${ctx.tenant.name}'s allow.redis) if it really is one of yours`,
    };
  if (tlsDiffers)
    return {
      path: `${path}.tls`,
      rule: 'redisServers',
      message: `Redis server ${server} (${where}) is reached with tls: ${String(!a.tls)}, the playbook says tls: ${String(a.tls)}`,
      fix: `write tls: ${String(!a.tls)}`,
    };
  return server;
}

/**
 * A `redis-acl-user` credential: rotor's Redis admin credentials go only to a policy `redisServers`
 * entry, with the TLS setting it names, and the user must be listed for that server in the tenant's
 * `allow.redis`.
 */
export function redisAclUserRefusals(ctx: RuleContext, cred: RedisCredential): PolicyRefusal[] {
  const server = serverRefusal(ctx, cred, 'spec.credential');
  if (typeof server !== 'string') return [server];
  if (ctx.tenant.allow.redis.some((e) => e.server === server && e.users.includes(cred.user))) return [];
  return [
    tenantRefusal(
      ctx,
      'spec.credential.user',
      'allow.redis',
      `Redis ACL user '${cred.user}' on server ${server} is not one the tenant may rotate`,
      `add ${cred.user} to the users of server ${server} in allow.redis`,
    ),
  ];
}

/** A `redis-auth` canary sends the new password only to a server the tenant's `allow.canaries.redisAuth` lists. */
export function redisAuthCanaryRefusals(ctx: RuleContext, c: RedisAuthCanary, path: string): PolicyRefusal[] {
  const server = serverRefusal(ctx, c, path);
  if (typeof server !== 'string') return [server];
  if (ctx.tenant.allow.canaries.redisAuth?.servers.includes(server)) return [];
  return [
    tenantRefusal(
      ctx,
      `${path}.host`,
      'allow.canaries.redisAuth',
      `redis-auth canary to server ${server} is not allowed; it may only authenticate to the tenant's servers`,
      `add ${server} to allow.canaries.redisAuth.servers`,
    ),
  ];
}
