import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Redis } from 'ioredis';
import type { Credential } from '../../core/playbook/schema';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';
import type { RevocationEvidence } from '../../core/status';
import { generateRandom } from '../generate';
import { describeRedis, isAuthRefusal, redisErrorCode, tryRedisAuth, withRedisSession } from '../redis';
import type { RedisAdmin, RedisTarget } from '../redis';
import type { CredentialKind } from './kind';
import { parseUserPassword } from './values';
import type { UserPassword } from './values';

type RedisCredential = Extract<Credential, { kind: 'redis-acl-user' }>;

/** The SHA-256 hex of a password: how Redis lists a user's passwords, and how rotor adds (`#`) and removes (`!`) one. */
export const redisPasswordHash = (password: string): string => createHash('sha256').update(password).digest('hex');

/** What `ACL GETUSER` says about a user; undefined when there is no such user. */
export interface AclUser {
  flags: string[];
  /** SHA-256 hex of each password. */
  passwords: string[];
}

/** Reads a user's flags and password hashes (`ACL GETUSER`, RESP2 flat key/value array). */
export async function aclGetUser(r: Redis, user: string): Promise<AclUser | undefined> {
  const reply = (await r.call('ACL', 'GETUSER', user)) as unknown[] | null;
  if (!reply) return undefined;
  const field = (name: string) => {
    const at = reply.indexOf(name);
    const v = at >= 0 ? reply[at + 1] : undefined;
    return Array.isArray(v) ? v.map(String) : [];
  };
  return { flags: field('flags'), passwords: field('passwords') };
}

const connectTimeoutMs = 10_000;

/**
 * A Redis ACL user's passwords (Redis 6+, Valkey): a user holds several at once, so the new password
 * is added beside the old one on the same user and both work until revoke removes the old one. Rules
 * name passwords by their SHA-256 (`#<hash>` adds, `!<hash>` removes: the `>`/`<` rules without
 * sending the password), and `ACL SAVE` persists them on servers with an ACL file. The admin
 * connection uses the worker's identity (ROTOR_REDIS_USERNAME) and goes only to `servers` (the
 * policy's `redisServers`; any when undefined, a development policy).
 */
export function redisAclUserKind(deps: {
  redisAdmin: () => RedisAdmin;
  redisServers?: RedisTarget[] | undefined;
}): CredentialKind<RedisCredential> {
  const targetOf = (p: RedisCredential): RedisTarget => ({ host: p.host, port: p.port, tls: p.tls });

  async function withAdmin<T>(p: RedisCredential, fn: (r: Redis) => Promise<T>): Promise<T> {
    const t = targetOf(p);
    const where = describeRedis(t);
    const known = deps.redisServers?.some(
      (s) => s.host.toLowerCase() === t.host.toLowerCase() && s.port === t.port && s.tls === t.tls,
    );
    // The playbook names the server, but rotor's admin credentials only go to servers the worker knows.
    if (deps.redisServers && !known)
      throw permanent(
        ErrorTypes.permissionDenied,
        `Redis ${where} is not a server the worker is configured for (policy redisServers); rotor's Redis admin credentials are not sent there`,
      );
    const admin = deps.redisAdmin();
    if (admin.login.username === p.user)
      throw permanent(
        ErrorTypes.invalidInput,
        `Redis user '${p.user}' is rotor's own admin user (ROTOR_REDIS_USERNAME); rotor does not rotate the identity it administers with`,
      );
    try {
      return await withRedisSession(t, admin.login, { ca: admin.ca, timeoutMs: connectTimeoutMs }, fn);
    } catch (e) {
      if (e instanceof ApplicationFailure) throw e;
      const code = redisErrorCode(e);
      const message = `Redis ${where}: ${(e as Error).message}`;
      if (isAuthRefusal(e))
        throw permanent(ErrorTypes.permissionDenied, `${message} (rotor's admin user '${admin.login.username}')`);
      if (code === 'NOPERM') throw permanent(ErrorTypes.permissionDenied, message);
      if (code === 'ERR') throw permanent(ErrorTypes.invalidInput, message);
      throw retryable(RetryableErrorTypes.redis, message);
    }
  }

  /** The user, which must exist, be on and have no `nopass` (then any password would open it). */
  async function usableUser(r: Redis, p: RedisCredential): Promise<AclUser> {
    const user = await aclGetUser(r, p.user);
    const where = describeRedis(targetOf(p));
    if (!user)
      throw permanent(
        ErrorTypes.invalidInput,
        `Redis ACL user '${p.user}' does not exist on ${where}: create it (ACL SETUSER) with the current password`,
      );
    if (user.flags.includes('nopass'))
      throw permanent(
        ErrorTypes.invalidInput,
        `Redis ACL user '${p.user}' on ${where} has nopass: every password opens it, so none can be revoked; remove nopass (resetpass) first`,
      );
    if (!user.flags.includes('on'))
      throw permanent(ErrorTypes.invalidInput, `Redis ACL user '${p.user}' on ${where} is off; turn it on first`);
    return user;
  }

  /** Applies password rules in one `ACL SETUSER` (all or nothing) and persists them where an ACL file is used. */
  async function setPasswords(r: Redis, user: string, rules: string[]): Promise<void> {
    if (rules.length === 0) return;
    await r.call('ACL', 'SETUSER', user, ...rules);
    await r.call('ACL', 'SAVE').catch((e: unknown) => {
      // Without an ACL file the users live in the server's config; there is nothing to save to.
      if (/not configured to use an ACL file/i.test((e as Error).message)) return;
      if (redisErrorCode(e) === 'NOPERM') throw e;
      // The change is made but not yet on disk (e.g. a full disk): retrying saves it again.
      throw retryable(RetryableErrorTypes.redis, `ACL SAVE after changing '${user}': ${(e as Error).message}`);
    });
  }

  function loginOf(p: RedisCredential, value: string, what: string): UserPassword {
    const cred = parseUserPassword(value, what);
    if (cred.username !== p.user)
      throw permanent(
        ErrorTypes.invalidInput,
        `${what} is for Redis user '${cred.username}', not the playbook's user '${p.user}'`,
      );
    return cred;
  }

  return {
    async create(p, { currentValue }) {
      const current = loginOf(p, currentValue, 'the current value');
      const currentHash = redisPasswordHash(current.password);
      const password = generateRandom({ length: p.length, charset: 'alphanumeric' });
      await withAdmin(p, async (r) => {
        const user = await usableUser(r, p);
        if (!user.passwords.includes(currentHash))
          throw permanent(
            ErrorTypes.invalidInput,
            `the current value's password is not a password of Redis user '${p.user}' on ${describeRedis(targetOf(p))}; refusing to rotate a credential that does not open the user`,
          );
        // Any other password is a leftover (a create whose value never reached the store, or an old
        // one a revoke missed): nobody holds it through rotor, and it would outlive the rotation.
        const leftovers = user.passwords.filter((h) => h !== currentHash).map((h) => `!${h}`);
        await setPasswords(r, p.user, [...leftovers, `#${redisPasswordHash(password)}`]);
      });
      return JSON.stringify({ username: p.user, password });
    },

    async discard(p, { pendingValue, currentValue }) {
      const pending = loginOf(p, pendingValue, 'the pending value');
      const current = parseUserPassword(currentValue, 'the current value');
      // The current password keeps serving; only one distinct from it is removed.
      if (pending.password === current.password) return;
      const hash = redisPasswordHash(pending.password);
      await withAdmin(p, async (r) => {
        const user = await aclGetUser(r, p.user);
        // Removing a password the user does not have is an error in Redis: an earlier attempt did it.
        if (user?.passwords.includes(hash)) await setPasswords(r, p.user, [`!${hash}`]);
      });
    },

    async revoke(p, { oldValue, currentValue }): Promise<RevocationEvidence> {
      const old = loginOf(p, oldValue, 'the old value');
      const current = loginOf(p, currentValue, 'the current value');
      if (old.password === current.password)
        return {
          rejected: false,
          detail: `old and current values are the same password of Redis user '${p.user}'; not removing the password in use`,
        };
      const hash = redisPasswordHash(old.password);
      const removed = await withAdmin(p, async (r) => {
        const user = await aclGetUser(r, p.user);
        if (!user?.passwords.includes(hash)) return false;
        await setPasswords(r, p.user, [`!${hash}`]);
        return true;
      });
      const t = targetOf(p);
      const where = describeRedis(t);
      const { ca } = deps.redisAdmin();
      const oldAuth = await tryRedisAuth(t, old, { ca, timeoutMs: connectTimeoutMs });
      if (!oldAuth.ok && !oldAuth.refused)
        // Unreachable or timed out proves nothing; retrying the (idempotent) revoke will.
        throw retryable(
          RetryableErrorTypes.redis,
          `removed the old password of Redis user '${p.user}' but could not try it on ${where}: ${oldAuth.message}`,
        );
      const newAuth = await tryRedisAuth(t, current, { ca, timeoutMs: connectTimeoutMs });
      const action = removed ? 'old password removed (ACL SETUSER !<sha256>)' : 'old password already gone';
      const oldPart = oldAuth.ok
        ? `AUTH ${p.user} <old> still SUCCEEDED on ${where}`
        : `AUTH ${p.user} <old> refused by ${where}: ${oldAuth.message}`;
      const newPart = newAuth.ok
        ? `AUTH ${p.user} <current> succeeded (${newAuth.message})`
        : `WARNING: AUTH ${p.user} <current> failed: ${newAuth.message}`;
      // Redis checks passwords at AUTH only: connections made with the old password stay open.
      return {
        rejected: oldAuth.refused,
        detail: `Redis user '${p.user}': ${action}; ${oldPart}; ${newPart}; connections authenticated before stay open`,
      };
    },
  };
}
