import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { aclGetUser } from '../../adapters/credentials/redis-acl';
import type { AclUser } from '../../adapters/credentials/redis-acl';
import { redisAdminFromEnv, tryRedisAuth, withRedisSession } from '../../adapters/redis';
import type { RedisTarget } from '../../adapters/redis';
import { ports } from '../../dev/local-stack/config';
import { useStackEnv } from './stack-env';

/** The stack's Redis, plaintext and TLS. */
export const stackRedis = {
  plain: { host: '127.0.0.1', port: ports.redis, tls: false },
  tls: { host: '127.0.0.1', port: ports.redisTls, tls: true },
} satisfies Record<string, RedisTarget>;

/** Runs `fn` as the stack's Redis admin (ROTOR_REDIS_* env), always closing the connection. */
export function withRedisAdmin<T>(fn: (r: Redis) => Promise<T>, target: RedisTarget = stackRedis.plain): Promise<T> {
  useStackEnv();
  const admin = redisAdminFromEnv();
  return withRedisSession(target, admin.login, { ca: admin.ca, timeoutMs: 5_000 }, fn);
}

/**
 * An ACL user with one known password (returned as the stored JSON value) that may PING and read
 * and write keys under `<user>:`; `rules` replace those permissions (e.g. `-ping` for a canary that
 * must fail).
 */
export async function createRedisUser(
  user: string,
  rules: string[] = ['+ping', '+get', '+set'],
): Promise<{ initial: string; password: string }> {
  const password = randomBytes(18).toString('base64url');
  await withRedisAdmin((r) =>
    r.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, `~${user}:*`, 'resetchannels', '-@all', ...rules),
  );
  return { initial: JSON.stringify({ username: user, password }), password };
}

/** Deletes test users (a missing one is no error). */
export async function deleteRedisUsers(users: string[]): Promise<void> {
  if (users.length) await withRedisAdmin((r) => r.call('ACL', 'DELUSER', ...users));
}

/** `ACL GETUSER` as the admin. */
export const redisUser = (user: string): Promise<AclUser | undefined> => withRedisAdmin((r) => aclGetUser(r, user));

/**
 * Whether `AUTH` with the stored JSON value is accepted on `target` — a real login, as a boolean. A
 * user that may not PING still counts as logged in (`NOPERM` comes after a successful AUTH).
 */
export async function canAuth(value: string, target: RedisTarget = stackRedis.plain): Promise<boolean> {
  useStackEnv();
  const login = JSON.parse(value) as { username: string; password: string };
  const out = await tryRedisAuth(target, login, { ca: redisAdminFromEnv().ca, timeoutMs: 5_000 });
  if (!out.ok && !out.refused && out.code !== 'NOPERM') throw new Error(`AUTH could not be tried: ${out.message}`);
  return out.ok || out.code === 'NOPERM';
}
