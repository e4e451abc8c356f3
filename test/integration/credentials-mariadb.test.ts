/**
 * The `mariadb-users` kind against the stack's real MariaDB: alternating users (create, canary,
 * revoke with proof, undo), the refusals that leave nothing changed, and `retainCurrentPassword`
 * refused because the server itself says it is MariaDB. Logins are real and asserted as booleans.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCanaryCheck } from '../../adapters/canaries';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import type { UserPassword } from '../../adapters/credentials/values';
import { canarySchema, credentialSchema } from '../../core/playbook/schema';
import type { Credential, PlaybookInput } from '../../core/playbook/schema';
import {
  account,
  canLogInMariadb,
  createTestDatabase,
  createUserPair,
  dropTestDatabase,
  isLocked,
  mariadbUsersProbe,
  withMariadbAdmin,
} from '../helpers/mariadb';
import { useStackEnv } from '../helpers/stack-env';
import { withMariadbAdmin as withAdminSession } from '../../adapters/credentials/mariadb-admin';
import { redisTlsDir, stackPaths } from '../../dev/local-stack/config';
import { loopbackPki } from '../../dev/local-stack/pki';

useStackEnv();

const kind = createCredentialKinds(credentialDepsFromEnv())['mariadb-users'];
const rotation = { workflowId: 'credentials-mariadb-test', runId: randomUUID() };
const suffix = randomBytes(4).toString('hex');
const database = `rotor_cred_${suffix}`;
const table = `${database}.t`;
const created: string[] = [];

type MariadbPolicy = Extract<Credential, { kind: 'mariadb-users' }>;
type MariadbInput = Extract<PlaybookInput['spec']['credential'], { kind: 'mariadb-users' }>;

const policyOf = (c: Omit<MariadbInput, 'kind'>) =>
  credentialSchema.parse({ kind: 'mariadb-users', ...c }) as MariadbPolicy;

/** Two users with the same grants; the first logs in with a known password, the second is locked. */
async function userPair(name: string): Promise<{ policy: MariadbPolicy; current: string }> {
  const [a, b] = [`r_${name}_a_${suffix}`, `r_${name}_b_${suffix}`];
  const { initial } = await createUserPair(a, b, database);
  created.push(a, b);
  return { policy: policyOf({ users: [a, b] }), current: initial };
}

const canLogIn = (value: string) => canLogInMariadb(value, table);
const passwordOf = (value: string) => (JSON.parse(value) as UserPassword).password;
const usernameOf = (value: string) => (JSON.parse(value) as UserPassword).username;
const leaks = (text: string, values: string[]) => values.some((v) => text.includes(passwordOf(v)));
const canary = (query: string) => canarySchema.parse({ type: 'mariadb-login', name: 'login', query });

beforeAll(() => createTestDatabase(database));
afterAll(() => dropTestDatabase(database, created));

describe('mariadb-users, alternating users', () => {
  it('create gives the other user a password (both work), the canary logs in, revoke locks the old user and proves it is refused', async () => {
    const { policy, current } = await userPair('rot');
    const pending = await kind.create(policy, { currentValue: current, rotation });
    expect(usernameOf(pending)).toBe(policy.users[1]);
    expect(passwordOf(pending)).toHaveLength(32);
    // Overlap: during distribution both credentials work.
    expect(await canLogIn(current)).toBe(true);
    expect(await canLogIn(pending)).toBe(true);
    expect(await isLocked(policy.users[1] ?? '')).toBe(false);

    const check = await runCanaryCheck(canary(`select count(*) from ${table}`), pending, new AbortController().signal);
    expect(check).toEqual({ ok: true, detail: `logged in as '${policy.users[1]}', query returned 1 row(s)` });

    // A session the old user still holds must be ended by revoke.
    const old = JSON.parse(current) as UserPassword;
    const lingering = await mysql.createConnection({
      host: process.env['ROTOR_MARIADB_HOST'],
      port: Number(process.env['ROTOR_MARIADB_PORT']),
      user: old.username,
      password: old.password,
    });
    lingering.on('error', () => undefined);

    const evidence = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
    expect(evidence.rejected).toBe(true);
    expect(evidence.detail).toMatch(/with the old password refused by 127\.0\.0\.1:\d+: (1045|4151) /);
    expect(evidence.detail).toContain('1 session(s) ended');
    expect(evidence.detail).toContain(`login as '${policy.users[1]}' with the current credential succeeded`);
    expect(leaks(evidence.detail, [current, pending])).toBe(false);

    // Proof by really logging in, independent of the evidence.
    expect(await canLogIn(current)).toBe(false);
    expect(await canLogIn(pending)).toBe(true);
    expect(await isLocked(policy.users[0] ?? '')).toBe(true);
    expect(
      await lingering.query('select 1').then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    lingering.destroy();

    // Revoke is idempotent (activities run at least once).
    expect((await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation })).rejected).toBe(true);

    // The next rotation alternates back to the first user, which is unlocked again.
    const next = await kind.create(policy, { currentValue: pending, rotation });
    expect(usernameOf(next)).toBe(policy.users[0]);
    expect(await canLogIn(next)).toBe(true);
    expect(await canLogIn(current)).toBe(false);
  });

  it('failure injection after create: the canary fails on a wrong query, discard locks the new user again and the old one keeps working', async () => {
    const { policy, current } = await userPair('undo');
    const probe = mariadbUsersProbe(policy.users);
    const before = await probe();
    const pending = await kind.create(policy, { currentValue: current, rotation });
    expect(await canLogIn(pending)).toBe(true);

    const check = await runCanaryCheck(
      canary(`select * from ${database}.no_such_table`),
      pending,
      new AbortController().signal,
    );
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('1146');
    expect(leaks(check.detail, [pending])).toBe(false);

    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    expect(await canLogIn(pending)).toBe(false);
    expect(await canLogIn(current)).toBe(true);
    const after = await probe();
    // The current user exactly as before; the other one locked again (under yet another unknown password).
    expect(after[0]).toEqual(before[0]);
    expect(after[1]).toMatchObject({ locked: true, grants: before[1]?.grants });

    // A discard that names the current user never locks it.
    await kind.discard(policy, { pendingValue: current, currentValue: current, rotation });
    expect(await canLogIn(current)).toBe(true);
  });

  it('undo and revoke still lock a user whose grants changed after create (only create compares grants)', async () => {
    const { policy, current } = await userPair('drift');
    const [a = '', b = ''] = policy.users;
    const pending = await kind.create(policy, { currentValue: current, rotation });
    await withMariadbAdmin((c) => c.query(`GRANT INSERT ON ${table} TO ${account(b)}`));
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    expect(await isLocked(b)).toBe(true);
    expect(await canLogIn(pending)).toBe(false);
    const again = await kind.create(policy, { currentValue: current, rotation }).then(
      () => 'created',
      (e: Error) => e.message,
    );
    expect(again).toContain(`MariaDB users '${a}' and '${b}' on 127.0.0.1:53306 do not have the same grants`);
    await withMariadbAdmin((c) => c.query(`GRANT INSERT ON ${table} TO ${account(a)}`));
    const next = await kind.create(policy, { currentValue: current, rotation });
    await withMariadbAdmin((c) => c.query(`REVOKE INSERT ON ${table} FROM ${account(a)}`));
    expect((await kind.revoke(policy, { oldValue: current, currentValue: next, rotation })).rejected).toBe(true);
    expect(await isLocked(a)).toBe(true);
  });

  it('the canary reports a refused login by error number without echoing the password', async () => {
    const { policy } = await userPair('bad');
    const wrong = JSON.stringify({ username: policy.users[0], password: `not-the-password-${suffix}` });
    const check = await runCanaryCheck(canary('select 1'), wrong, new AbortController().signal);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('1045');
    expect(leaks(check.detail, [wrong])).toBe(false);
    const garbage = await runCanaryCheck(canary('select 1'), 'not json at all', new AbortController().signal);
    expect(garbage).toEqual({
      ok: false,
      detail: 'the credential is not JSON with username, password (value not shown)',
    });
  });

  it('refuses, changing nothing: a missing user, a stranger, an administrator, two users whose grants differ', async () => {
    const { policy, current } = await userPair('refuse');
    const [a = '', b = ''] = policy.users;
    const probe = mariadbUsersProbe([a, b]);
    const before = await probe();
    const missing = `r_missing_${suffix}`;
    await expect(kind.create(policyOf({ users: [a, missing] }), { currentValue: current, rotation })).rejects.toThrow(
      `MariaDB user '${missing}'@'%' does not exist on 127.0.0.1:`,
    );
    const stranger = JSON.stringify({ username: 'someone_else', password: 'x'.repeat(20) });
    await expect(kind.create(policy, { currentValue: stranger, rotation })).rejects.toThrow(
      "user 'someone_else', which is not one of users",
    );
    await expect(kind.create(policyOf({ users: [a, 'rotor'] }), { currentValue: current, rotation })).rejects.toThrow(
      "MariaDB user 'rotor' is rotor's own admin account",
    );
    const boss = `r_boss_${suffix}`;
    created.push(boss);
    await withMariadbAdmin((c) => c.query(`CREATE USER ${account(boss)} ACCOUNT LOCK`));
    await withMariadbAdmin((c) => c.query(`GRANT CREATE USER ON *.* TO ${account(boss)}`));
    await expect(kind.create(policyOf({ users: [a, boss] }), { currentValue: current, rotation })).rejects.toThrow(
      `MariaDB user '${boss}'@'%' holds administrative privileges`,
    );
    await withMariadbAdmin((c) => c.query(`GRANT INSERT ON ${table} TO ${account(b)}`));
    await expect(kind.create(policy, { currentValue: current, rotation })).rejects.toThrow(
      `MariaDB users '${a}' and '${b}' on 127.0.0.1:53306 do not have the same grants (only '${a}': none; only '${b}': GRANT INSERT ON \`${database}\`.\`t\` TO <account>)`,
    );
    await withMariadbAdmin((c) => c.query(`REVOKE INSERT ON ${table} FROM ${account(b)}`));
    expect(await probe()).toEqual(before);
  });
});

describe('mariadb-users, where the admin account goes', () => {
  it('refuses a server outside mariadbServers without connecting, and reports an unreachable one as retryable MariadbError', async () => {
    const { policy, current } = await userPair('where');
    const deps = credentialDepsFromEnv();
    const restricted = createCredentialKinds({ ...deps, mariadbServers: [{ host: '10.0.0.9', port: 3306 }] })[
      'mariadb-users'
    ];
    // The admin account's own server stays allowed; another one is refused before any connection.
    await expect(
      restricted.create({ ...policy, host: '203.0.113.7' }, { currentValue: current, rotation }),
    ).rejects.toMatchObject({
      type: 'PermissionDenied',
      nonRetryable: true,
      message:
        "MariaDB 203.0.113.7:53306 is not a server the worker is configured for (policy mariadbServers); rotor's admin credentials are not sent there",
    });
    // Nothing listens on port 1: transient, retried by the activity (every step is idempotent).
    await expect(
      kind.create({ ...policy, host: '127.0.0.1', port: 1 }, { currentValue: current, rotation }),
    ).rejects.toMatchObject({
      type: 'MariadbError',
      nonRetryable: false,
      message: expect.stringMatching(/^MariaDB 127\.0\.0\.1:1: ECONNREFUSED/) as string,
    });
    expect(await isLocked(policy.users[1] ?? '')).toBe(true);
  });
});

describe('mariadb-users, retainCurrentPassword', () => {
  it('is refused by the real MariaDB at create, naming the field and the server, and nothing changes; undo and revoke change nothing either', async () => {
    const user = `r_retain_${suffix}`;
    const password = randomBytes(18).toString('base64url');
    created.push(user);
    await withMariadbAdmin(async (c) => {
      await c.query(`CREATE USER ${account(user)} IDENTIFIED BY ${mysql.escape(password)}`);
      await c.query(`GRANT SELECT ON ${mysql.escapeId(database)}.* TO ${account(user)}`);
    });
    const current = JSON.stringify({ username: user, password });
    const policy = policyOf({ users: [user], retainCurrentPassword: true });
    const probe = mariadbUsersProbe([user]);
    const before = await probe();

    const refused = kind.create(policy, { currentValue: current, rotation });
    await expect(refused).rejects.toThrow(
      /^spec\.credential\.retainCurrentPassword: 127\.0\.0\.1:53306 is MariaDB 10\.\d+\.\d+-MariaDB\S* has no RETAIN CURRENT PASSWORD \(dual passwords are MySQL 8\.0\.14\+\); set retainCurrentPassword: false and give two users/,
    );
    await expect(refused).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });

    const other = JSON.stringify({ username: user, password: 'another-password-not-set' });
    await kind.discard(policy, { pendingValue: other, currentValue: current, rotation });
    await expect(kind.revoke(policy, { oldValue: other, currentValue: current, rotation })).rejects.toThrow(
      'spec.credential.retainCurrentPassword: ',
    );
    expect(await probe()).toEqual(before);
    expect(await canLogIn(current)).toBe(true);
  });
});

describe('mariadb-users, over TLS', () => {
  it("the admin session is verified TLS (the stack asks for verify_identity), and a CA that did not sign the server's certificate stops create before any change", async () => {
    const { policy, current } = await userPair('tls');
    // The stack's environment asks for verify_identity against the stack MariaDB's own CA.
    expect(process.env['ROTOR_MARIADB_SSL_MODE']).toBe('verify_identity');
    const tls = await withAdminSession(credentialDepsFromEnv(), policy, async (s) => {
      const [rows] = await s.conn.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
      return String(rows[0]?.['Value'] ?? '');
    });
    expect(tls).toMatch(/^TLSv1\.[23]$/);

    // Another loopback CA of the stack (Redis's) did not sign MariaDB's certificate.
    const otherCa = loopbackPki(redisTlsDir(stackPaths())).ca.cert;
    const wrongCa = createCredentialKinds(credentialDepsFromEnv({ ...process.env, ROTOR_MARIADB_SSL_CA: otherCa }))[
      'mariadb-users'
    ];
    await expect(wrongCa.create(policy, { currentValue: current, rotation })).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
      message: expect.stringMatching(
        /^MariaDB 127\.0\.0\.1:\d+: the TLS handshake failed \(self-signed certificate in certificate chain\); point ROTOR_MARIADB_SSL_CA at the CA that signed the server's certificate/,
      ) as string,
    });
    // Nothing changed: the other user is still locked, the current login still works.
    expect(await isLocked(policy.users[1] ?? '')).toBe(true);
    expect(await canLogIn(current)).toBe(true);
  });

  it('a worker told to send the admin password to a remote server in plaintext does not start', () => {
    expect(() =>
      credentialDepsFromEnv({
        ...process.env,
        ROTOR_MARIADB_HOST: 'db.example.com',
        ROTOR_MARIADB_SSL_MODE: 'disabled',
      }),
    ).toThrow(/ROTOR_MARIADB_SSL_MODE is disabled for MariaDB at db\.example\.com, beyond this machine/);
  });
});
