import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCanaryCheck } from '../../adapters/canaries';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { tryPostgresLogin } from '../../adapters/credentials/postgres';
import type { UserPassword } from '../../adapters/credentials/values';
import { canarySchema, credentialSchema } from '../../core/playbook/schema';
import type { Credential } from '../../core/playbook/schema';
import { createRolePair, withPgAdmin } from '../helpers/postgres';
import { useStackEnv } from '../helpers/stack-env';

useStackEnv();

const deps = credentialDepsFromEnv();
const kind = createCredentialKinds(deps)['postgres-alternating-users'];
const rotation = { workflowId: 'credentials-postgres-test', runId: randomUUID() };
const suffix = randomBytes(4).toString('hex');
const table = `rotor_cred_test_${suffix}`;
const created: string[] = [];

type PgPolicy = Extract<Credential, { kind: 'postgres-alternating-users' }>;

const admin = withPgAdmin;

/** Whether the server lets `cred` log in and read the test table — a real login, asserted as a boolean. */
async function canLogIn(cred: UserPassword | string): Promise<boolean> {
  const c = typeof cred === 'string' ? (JSON.parse(cred) as UserPassword) : cred;
  return (await tryPostgresLogin({}, c, { query: `select count(*) from ${table}`, timeoutMs: 5_000 })).ok;
}

/** Two roles with the same grants; the first can log in with a known password, the second is locked. */
async function rolePair(name: string): Promise<{ policy: PgPolicy; current: string; secrets: string[] }> {
  const [a, b] = [`rotor_${name}_a_${suffix}`, `rotor_${name}_b_${suffix}`];
  const { initial, password } = await createRolePair(a, b, table);
  created.push(a, b);
  const policy = credentialSchema.parse({ kind: 'postgres-alternating-users', roles: [a, b] }) as PgPolicy;
  return { policy, current: initial, secrets: [password] };
}

const passwordOf = (value: string) => (JSON.parse(value) as UserPassword).password;
const usernameOf = (value: string) => (JSON.parse(value) as UserPassword).username;
const leaks = (text: string, values: string[]) => values.some((v) => text.includes(passwordOf(v)));

const canary = (query: string) => canarySchema.parse({ type: 'postgres-login', name: 'pg-login', query });

beforeAll(async () => {
  await admin((c) => c.query(`CREATE TABLE ${table} (id int)`));
});

afterAll(async () => {
  await admin(async (c) => {
    await c.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = any($1)', [created]);
    await c.query(`DROP TABLE IF EXISTS ${table}`);
    for (const r of created) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`);
  });
});

describe('postgres-alternating-users', () => {
  it('create gives the other role a password (both work), the canary logs in, revoke locks the old role and proves it is refused', async () => {
    const { policy, current } = await rolePair('rot');
    const pending = await kind.create(policy, { currentValue: current, rotation });
    expect(usernameOf(pending)).toBe(policy.roles[1]);
    expect(passwordOf(pending)).toHaveLength(32);
    // Overlap: during distribution both credentials work.
    expect(await canLogIn(current)).toBe(true);
    expect(await canLogIn(pending)).toBe(true);

    const check = await runCanaryCheck(canary(`select count(*) from ${table}`), pending, new AbortController().signal);
    expect(check.ok).toBe(true);
    expect(leaks(check.detail, [pending])).toBe(false);

    // A session the old role still holds must be ended by revoke.
    const lingering = new pg.Client({ user: usernameOf(current), password: passwordOf(current) });
    lingering.on('error', () => undefined);
    await lingering.connect();

    const evidence = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
    expect(evidence.rejected).toBe(true);
    expect(evidence.detail).toMatch(/refused by .*: 28(P01|000) /);
    expect(evidence.detail).toContain('1 session(s) terminated');
    expect(evidence.detail).toContain(`login as '${policy.roles[1]}' with the current credential succeeded`);
    expect(leaks(evidence.detail, [current, pending])).toBe(false);

    // Proof by really logging in, independent of the evidence.
    expect(await canLogIn(current)).toBe(false);
    expect(await canLogIn(pending)).toBe(true);
    expect(
      await lingering.query('select 1').then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    await lingering.end().catch(() => undefined);
    const canLogin = await admin((c) =>
      c.query<{ rolcanlogin: boolean }>('select rolcanlogin from pg_roles where rolname = $1', [policy.roles[0]]),
    );
    expect(canLogin.rows[0]?.rolcanlogin).toBe(false);

    // Revoke is idempotent (activities run at least once).
    expect((await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation })).rejected).toBe(true);

    // The next rotation alternates back to the first role, which gets LOGIN again.
    const next = await kind.create(policy, { currentValue: pending, rotation });
    expect(usernameOf(next)).toBe(policy.roles[0]);
    expect(await canLogIn(next)).toBe(true);
    expect(await canLogIn(current)).toBe(false);
  });

  it('failure injection: the canary fails on a wrong query, discard locks the new role and the old one keeps working', async () => {
    const { policy, current } = await rolePair('undo');
    const pending = await kind.create(policy, { currentValue: current, rotation });
    expect(await canLogIn(pending)).toBe(true);

    const check = await runCanaryCheck(
      canary('select * from no_such_table_for_rotor'),
      pending,
      new AbortController().signal,
    );
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('42P01');
    expect(leaks(check.detail, [pending])).toBe(false);

    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    expect(await canLogIn(pending)).toBe(false);
    expect(await canLogIn(current)).toBe(true);

    // A discard that names the current role never locks it.
    await kind.discard(policy, { pendingValue: current, currentValue: current, rotation });
    expect(await canLogIn(current)).toBe(true);
  });

  it('the canary reports a refused login by SQLSTATE without echoing the password', async () => {
    const { policy } = await rolePair('bad');
    const wrong = JSON.stringify({ username: policy.roles[0], password: 'not-the-password-' + suffix });
    const check = await runCanaryCheck(canary('select 1'), wrong, new AbortController().signal);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('28P01');
    expect(leaks(check.detail, [wrong])).toBe(false);
    const garbage = await runCanaryCheck(canary('select 1'), 'not json at all', new AbortController().signal);
    expect(garbage).toEqual({
      ok: false,
      detail: 'the credential is not JSON with username, password (value not shown)',
    });
  });

  it('refuses a missing role by name and a current value for a role outside the pair', async () => {
    const { policy, current } = await rolePair('miss');
    const missing = `rotor_missing_${suffix}`;
    const broken = { ...policy, roles: [policy.roles[0], missing] as [string, string] };
    await expect(kind.create(broken, { currentValue: current, rotation })).rejects.toThrow(
      `PostgreSQL role '${missing}' does not exist`,
    );
    const stranger = JSON.stringify({ username: 'someone_else', password: 'x'.repeat(20) });
    await expect(kind.create(policy, { currentValue: stranger, rotation })).rejects.toThrow(
      `role 'someone_else', which is not one of roles`,
    );
    const superuser = { ...policy, roles: [policy.roles[0], 'postgres'] as [string, string] };
    await expect(kind.create(superuser, { currentValue: current, rotation })).rejects.toThrow(
      `'postgres' is a superuser`,
    );
  });
});
