/**
 * The redis-acl-user kind against the stack's Redis (Debian's redis-server 7), plaintext and TLS:
 * create adds a password beside the current one (both AUTH), revoke removes the old one and proves
 * AUTH with it is refused, discard removes the new one; each is idempotent. Logins are real AUTHs,
 * asserted as booleans; ACL state is read back with ACL GETUSER.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { runCanaryCheck } from '../../adapters/canaries';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { redisPasswordHash } from '../../adapters/credentials/redis-acl';
import type { UserPassword } from '../../adapters/credentials/values';
import { stackPaths } from '../../dev/local-stack/config';
import { ErrorTypes, RetryableErrorTypes } from '../../core/failures';
import { canarySchema, credentialSchema } from '../../core/playbook/schema';
import type { Credential } from '../../core/playbook/schema';
import { canAuth, createRedisUser, deleteRedisUsers, redisUser, stackRedis, withRedisAdmin } from '../helpers/redis';
import type { RedisTarget } from '../../adapters/redis';
import { useStackEnv } from '../helpers/stack-env';

useStackEnv();

type RedisPolicy = Extract<Credential, { kind: 'redis-acl-user' }>;

const deps = credentialDepsFromEnv();
const kind = createCredentialKinds(deps)['redis-acl-user'];
const rotation = { workflowId: 'credentials-redis-test', runId: randomUUID() };
const suffix = randomBytes(4).toString('hex');
const users: string[] = [];

async function user(name: string, target: RedisTarget = stackRedis.plain, rules?: string[]) {
  const u = `rotor-${name}-${suffix}`;
  users.push(u);
  const { initial } = await createRedisUser(u, rules);
  const policy = credentialSchema.parse({ kind: 'redis-acl-user', user: u, ...target }) as RedisPolicy;
  return { policy, current: initial, name: u };
}

const passwordOf = (value: string) => (JSON.parse(value) as UserPassword).password;
const leaks = (text: string, values: string[]) => values.some((v) => text.includes(passwordOf(v)));
const hashOf = (value: string) => redisPasswordHash(passwordOf(value));
const authCanary = (target: RedisTarget) => canarySchema.parse({ type: 'redis-auth', name: 'auth', ...target });
const signal = new AbortController().signal;

afterAll(async () => {
  await deleteRedisUsers(users);
});

describe('redis-acl-user', () => {
  it.each([
    ['plaintext', stackRedis.plain],
    ['TLS', stackRedis.tls],
  ])(
    'over %s: create adds a password (both AUTH), the canary passes, revoke removes the old one and proves it refused',
    async (_how, target) => {
      const { policy, current, name } = await user(target.tls ? 'tls' : 'rot', target);
      const pending = await kind.create(policy, { currentValue: current, rotation });
      const parsed = JSON.parse(pending) as UserPassword;
      expect(parsed.username).toBe(name);
      expect(parsed.password).toMatch(/^[A-Za-z0-9]{32}$/);
      // Overlap: one user, two passwords, both open it.
      expect((await redisUser(name))?.passwords.sort()).toEqual([hashOf(current), hashOf(pending)].sort());
      expect(await canAuth(current, target)).toBe(true);
      expect(await canAuth(pending, target)).toBe(true);
      // Saved to the server's ACL file: a restart keeps the new password.
      const aclFile = readFileSync(join(stackPaths().stateDir, 'redis', 'users.acl'), 'utf8');
      expect(aclFile).toContain(`#${hashOf(pending)}`);

      const check = await runCanaryCheck(authCanary(target), pending, signal);
      expect(check).toEqual({ ok: true, detail: `AUTH as '${name}', PING answered PONG` });

      const evidence = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
      expect(evidence.rejected).toBe(true);
      expect(evidence.detail).toContain(`AUTH ${name} <old> refused by 127.0.0.1:${target.port}`);
      expect(evidence.detail).toContain('WRONGPASS');
      expect(evidence.detail).toContain(`AUTH ${name} <current> succeeded`);
      expect(leaks(evidence.detail, [current, pending])).toBe(false);
      // Proof by really authenticating, independent of the evidence.
      expect(await canAuth(current, target)).toBe(false);
      expect(await canAuth(pending, target)).toBe(true);
      expect((await redisUser(name))?.passwords).toEqual([hashOf(pending)]);

      // Revoke is idempotent (activities run at least once).
      const again = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
      expect(again.rejected).toBe(true);
      expect(again.detail).toContain('old password already gone');
    },
  );

  it('failure injection after create: discard removes the new password (twice, idempotent), the old one keeps working', async () => {
    const { policy, current, name } = await user('undo');
    const pending = await kind.create(policy, { currentValue: current, rotation });
    expect(await canAuth(pending)).toBe(true);
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    expect(await canAuth(pending)).toBe(false);
    expect(await canAuth(current)).toBe(true);
    expect((await redisUser(name))?.passwords).toEqual([hashOf(current)]);
    // A discard that names the current password never removes it.
    await kind.discard(policy, { pendingValue: current, currentValue: current, rotation });
    expect(await canAuth(current)).toBe(true);
  });

  it('a retried create leaves one new password: a leftover of the first attempt is removed', async () => {
    const { policy, current, name } = await user('retry');
    const lost = await kind.create(policy, { currentValue: current, rotation });
    const kept = await kind.create(policy, { currentValue: current, rotation });
    expect(await canAuth(lost)).toBe(false);
    expect(await canAuth(kept)).toBe(true);
    expect((await redisUser(name))?.passwords.sort()).toEqual([hashOf(current), hashOf(kept)].sort());
  });

  it('the canary reports a refusal and a missing permission without echoing the password', async () => {
    const { current, name } = await user('canary', stackRedis.plain, ['+get']);
    const noPing = await runCanaryCheck(authCanary(stackRedis.plain), current, signal);
    expect(noPing.ok).toBe(false);
    expect(noPing.detail).toContain('NOPERM');
    const wrong = JSON.stringify({ username: name, password: `not-the-password-${suffix}` });
    const refused = await runCanaryCheck(authCanary(stackRedis.plain), wrong, signal);
    expect(refused.ok).toBe(false);
    expect(refused.detail).toContain('WRONGPASS');
    expect(leaks(refused.detail, [wrong, current])).toBe(false);
    expect(await runCanaryCheck(authCanary(stackRedis.plain), 'not json', signal)).toEqual({
      ok: false,
      detail: 'the credential is not JSON with username, password (value not shown)',
    });
  });

  it('refuses, changing nothing: a missing user, nopass, a current value that does not open the user, rotor itself', async () => {
    const { policy, current, name } = await user('refuse');
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as ApplicationFailure,
      );
    const missing = await failure(
      kind.create({ ...policy, user: `rotor-missing-${suffix}` }, { currentValue: current, rotation }),
    );
    expect(missing?.message).toContain(`the current value is for Redis user '${name}', not the playbook's user`);
    const stranger = JSON.stringify({ username: `rotor-missing-${suffix}`, password: 'x'.repeat(20) });
    const absent = await failure(
      kind.create({ ...policy, user: `rotor-missing-${suffix}` }, { currentValue: stranger, rotation }),
    );
    expect(absent).toBeInstanceOf(ApplicationFailure);
    expect(absent?.type).toBe(ErrorTypes.invalidInput);
    expect(absent?.message).toContain(`Redis ACL user 'rotor-missing-${suffix}' does not exist on 127.0.0.1:`);

    const wrongCurrent = JSON.stringify({ username: name, password: 'y'.repeat(24) });
    const notHers = await failure(kind.create(policy, { currentValue: wrongCurrent, rotation }));
    expect(notHers?.message).toContain(`the current value's password is not a password of Redis user '${name}'`);

    await withRedisAdmin((r) => r.call('ACL', 'SETUSER', name, 'nopass'));
    const nopass = await failure(kind.create(policy, { currentValue: current, rotation }));
    expect(nopass?.message).toContain('has nopass');
    await withRedisAdmin((r) => r.call('ACL', 'SETUSER', name, 'resetpass', `>${passwordOf(current)}`));
    expect((await redisUser(name))?.passwords).toEqual([hashOf(current)]);

    const admin = JSON.stringify({ username: 'rotor', password: 'z'.repeat(24) });
    const self = await failure(kind.create({ ...policy, user: 'rotor' }, { currentValue: admin, rotation }));
    expect(self?.message).toContain("is rotor's own admin user");
    expect((await redisUser(name))?.passwords).toEqual([hashOf(current)]);
  });

  it('sends the admin credentials only to configured servers, with their TLS setting', async () => {
    const { policy, current, name } = await user('servers');
    const strict = createCredentialKinds({ ...deps, redisServers: [stackRedis.tls] })['redis-acl-user'];
    const refused = await strict.create(policy, { currentValue: current, rotation }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect((refused as ApplicationFailure).type).toBe(ErrorTypes.permissionDenied);
    expect((refused as ApplicationFailure).message).toContain(
      `Redis 127.0.0.1:${stackRedis.plain.port} is not a server the worker is configured for`,
    );
    // The TLS port named as plaintext is another server, not a downgrade.
    const downgrade = { ...policy, port: stackRedis.tls.port };
    const down = await strict.create(downgrade, { currentValue: current, rotation }).catch((e: unknown) => e);
    expect((down as ApplicationFailure).type).toBe(ErrorTypes.permissionDenied);
    expect((await redisUser(name))?.passwords).toEqual([hashOf(current)]);
  });

  it('a TLS server the worker cannot verify is a retryable RedisError, and nothing changes', async () => {
    const { policy, current, name } = await user('noca', stackRedis.tls);
    const blind = createCredentialKinds({
      ...deps,
      redisAdmin: () => ({ ...deps.redisAdmin(), ca: undefined }),
    })['redis-acl-user'];
    const err = await blind.create(policy, { currentValue: current, rotation }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(RetryableErrorTypes.redis);
    expect((err as ApplicationFailure).message).toMatch(/certificate/i);
    expect((await redisUser(name))?.passwords).toEqual([hashOf(current)]);
  });
});
