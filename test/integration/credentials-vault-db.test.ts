import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCanaryCheck } from '../../adapters/canaries';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { tryPostgresLogin } from '../../adapters/credentials/postgres';
import type { UserPassword } from '../../adapters/credentials/values';
import { ensureVaultPostgresStaticRole } from '../../adapters/credentials/vault-db';
import { canarySchema, credentialSchema } from '../../core/playbook/schema';
import type { Credential } from '../../core/playbook/schema';
import { withPgAdmin } from '../helpers/postgres';
import { useStackEnv } from '../helpers/stack-env';

useStackEnv();

type VaultDbPolicy = Extract<Credential, { kind: 'vault-database-static-role' }>;

const deps = credentialDepsFromEnv();
const kind = createCredentialKinds(deps)['vault-database-static-role'];
const rotation = { workflowId: 'credentials-vault-db-test', runId: randomUUID() };
const suffix = randomBytes(4).toString('hex');
const connection = 'rotor-test-postgres';
const table = `rotor_vdb_test_${suffix}`;
const pgUsers: string[] = [];
const vaultRoles: string[] = [];

const admin = withPgAdmin;

const parse = (v: string) => JSON.parse(v) as UserPassword;
/** A real login with the value against the stack's PostgreSQL, asserted as a boolean. */
const canLogIn = async (value: string) =>
  (await tryPostgresLogin({}, parse(value), { query: `select count(*) from ${table}`, timeoutMs: 5_000 })).ok;
const leaks = (text: string, values: string[]) => values.some((v) => text.includes(parse(v).password));
const liveValue = async (role: string) => {
  const data = ((await deps.vault.read(`database/static-creds/${role}`)) as { data: UserPassword }).data;
  return JSON.stringify({ username: data.username, password: data.password });
};

/** A PostgreSQL user handed to a new Vault static role; the current value is what Vault hands out. */
async function staticRole(name: string): Promise<{ policy: VaultDbPolicy; current: string }> {
  const username = `rotor_vdb_${name}_${suffix}`;
  const role = `rotor-test-${name}-${suffix}`;
  await admin(async (c) => {
    await c.query(
      `CREATE ROLE ${pg.escapeIdentifier(username)} LOGIN PASSWORD ${pg.escapeLiteral(randomBytes(18).toString('base64url'))}`,
    );
    await c.query(`GRANT SELECT ON ${table} TO ${pg.escapeIdentifier(username)}`);
  });
  pgUsers.push(username);
  const setup = { connection, role, username, admin: deps.pgAdmin() };
  await ensureVaultPostgresStaticRole(deps.vault, setup);
  vaultRoles.push(role);
  // Idempotent: a second call neither fails nor rotates.
  const before = await liveValue(role);
  await ensureVaultPostgresStaticRole(deps.vault, setup);
  expect((await liveValue(role)) === before).toBe(true);
  const policy = credentialSchema.parse({ kind: 'vault-database-static-role', role, connection }) as VaultDbPolicy;
  return { policy, current: before };
}

const canary = (query: string) => canarySchema.parse({ type: 'postgres-login', name: 'pg-login', query });

beforeAll(async () => {
  await admin((c) => c.query(`CREATE TABLE ${table} (id int)`));
});

afterAll(async () => {
  for (const r of vaultRoles) await deps.vault.delete(`database/static-roles/${r}`).catch(() => undefined);
  await admin(async (c) => {
    await c.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = any($1)', [pgUsers]);
    await c.query(`DROP TABLE IF EXISTS ${table}`);
    for (const u of pgUsers) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(u)}`);
  });
});

describe('vault-database-static-role', () => {
  it(`create rotates the role (the old password dies at once: no overlap), the canary logs in, revoke proves the old one is refused`, async () => {
    const { policy, current } = await staticRole('rot');
    expect(await canLogIn(current)).toBe(true);

    const pending = await kind.create(policy, { currentValue: current, rotation });
    expect(parse(pending).username).toBe(parse(current).username);
    expect(await canLogIn(pending)).toBe(true);
    // A static role has one password: the old one stops working at create, not at revoke.
    expect(await canLogIn(current)).toBe(false);

    const check = await runCanaryCheck(canary(`select count(*) from ${table}`), pending, new AbortController().signal);
    expect(check.ok).toBe(true);

    const evidence = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
    expect(evidence.rejected).toBe(true);
    expect(evidence.detail).toContain('no overlap');
    expect(evidence.detail).toMatch(/refused by 127\.0\.0\.1:55432\/postgres: 28P01 /);
    expect(evidence.detail).toContain('login with the current credential succeeded');
    expect(evidence.detail).not.toContain('WARNING');
    expect(leaks(evidence.detail, [current, pending])).toBe(false);

    expect(await canLogIn(current)).toBe(false);
    expect(await canLogIn(pending)).toBe(true);
  });

  it(`failure injection: the canary fails, discard rotates again so the new password is refused; the old one cannot come back`, async () => {
    const { policy, current } = await staticRole('undo');
    const pending = await kind.create(policy, { currentValue: current, rotation });
    const check = await runCanaryCheck(
      canary('select * from no_such_table_for_rotor'),
      pending,
      new AbortController().signal,
    );
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('42P01');
    expect(leaks(check.detail, [pending])).toBe(false);

    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    const afterDiscard = await liveValue(policy.role);
    // A retried discard does not rotate again: the discarded password is no longer the live one.
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    expect((await liveValue(policy.role)) === afterDiscard).toBe(true);

    expect(await canLogIn(pending)).toBe(false);
    // No overlap: the old password died at create and stays dead; only Vault's live password works.
    expect(await canLogIn(current)).toBe(false);
    expect(await canLogIn(afterDiscard)).toBe(true);
  });

  it(`refuses a static role of another connection and an unknown role`, async () => {
    const { policy, current } = await staticRole('conn');
    await expect(
      kind.create({ ...policy, connection: 'some-other-connection' }, { currentValue: current, rotation }),
    ).rejects.toThrow(`belongs to connection '${connection}', not 'some-other-connection'`);
    await expect(
      kind.create({ ...policy, role: `missing-${suffix}` }, { currentValue: current, rotation }),
    ).rejects.toThrow('vault: no static role');
    expect(await canLogIn(current)).toBe(true);
  });
});
