import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import vaultClient from 'node-vault';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityImplementations } from '../../activities/index';
import { uncheckedGrant } from '../helpers/grants';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { tryPostgresLogin } from '../../adapters/credentials/postgres';
import type { UserPassword } from '../../adapters/credentials/values';
import { credentialSchema } from '../../core/playbook/schema';
import type { Credential } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { createRolePair, withPgAdmin } from '../helpers/postgres';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';

const env = useStackEnv();

/**
 * The undo of create against the real Vault and PostgreSQL: "not found" (nothing left to undo) is
 * told from "could not look" (the store or the credential's target did not answer). Could-not-look
 * fails the undo (it is retried) and keeps the stored copy, because the new role may still be live.
 */
const suffix = randomBytes(4).toString('hex');
const table = `rotor_undo_test_${suffix}`;
const [roleA, roleB] = [`rotor_undo_a_${suffix}`, `rotor_undo_b_${suffix}`];
const policyName = `rotor-test-no-data-${suffix}`;
const root = vaultClient({ endpoint: env['VAULT_ADDR'], token: env['VAULT_TOKEN'] });
const real = activityImplementations(depsFromEnv());

async function canLogIn(value: string): Promise<boolean> {
  const c = JSON.parse(value) as UserPassword;
  return (await tryPostgresLogin({}, c, { query: `select count(*) from ${table}`, timeoutMs: 5_000 })).ok;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  await withPgAdmin((c) => c.query(`CREATE TABLE ${table} (id int)`));
});

afterAll(async () => {
  await withPgAdmin(async (c) => {
    await c.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = any($1)', [[roleA, roleB]]);
    await c.query(`DROP TABLE IF EXISTS ${table}`);
    for (const r of [roleA, roleB]) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`);
  });
  await root.removePolicy({ name: policyName }).catch(() => undefined);
});

describe('undo of create: not found vs could not look', () => {
  it('keeps the stored copy and the live role while it cannot look, then undoes both; a repeat finds nothing', async () => {
    const { initial } = await createRolePair(roleA, roleB, table);
    const ts = await vaultTestStore(initial);
    const credential = credentialSchema.parse({ kind: 'postgres-alternating-users', roles: [roleA, roleB] }) as Extract<
      Credential,
      { kind: 'postgres-alternating-users' }
    >;
    const rotation = { workflowId: `undo-test-${suffix}`, runId: randomUUID() };
    const before = await ts.snapshot();
    const fresh = await real.createPendingVersion({
      admission: uncheckedGrant,
      store: ts.store,
      credential,
      rotation,
      currentVersion: before.currentVersion,
    });
    const pendingValue = (await ts.readVersion(fresh.version)) ?? '';
    expect(await canLogIn(pendingValue)).toBe(true);
    const discard = {
      admission: uncheckedGrant,
      store: ts.store,
      credential,
      rotation,
      pendingVersion: fresh.version,
      currentVersion: before.currentVersion,
      previousVersion: before.previousVersion,
    };
    const untouched = async () => {
      expect(await ts.readVersion(fresh.version)).toBe(pendingValue);
      expect((await ts.snapshot()).pendingVersion).toBe(fresh.version);
      expect(await canLogIn(pendingValue)).toBe(true);
      expect(await canLogIn(initial)).toBe(true);
    };

    // Could not look at the target: PostgreSQL does not answer.
    const port = await closedPort();
    const pgDown = activityImplementations({
      ...depsFromEnv(),
      credentialKinds: createCredentialKinds({
        ...credentialDepsFromEnv(),
        pgAdmin: () => ({ host: '127.0.0.1', port, user: 'postgres', connectionTimeoutMillis: 2_000 }),
      }),
    });
    await expect(pgDown.discardPendingVersion(discard)).rejects.toThrow(/ECONNREFUSED|connect/);
    await untouched();

    // Could not look in the store: a token that may destroy versions but not read them (403).
    await root.addPolicy({
      name: policyName,
      rules: [
        `path "secret/metadata/${'path' in ts.store ? ts.store.path : ''}" { capabilities = ["read", "update", "create"] }`,
        `path "secret/destroy/${'path' in ts.store ? ts.store.path : ''}" { capabilities = ["update", "create"] }`,
      ].join('\n'),
    });
    const token = (
      (await root.tokenCreate({ policies: [policyName], ttl: '10m' })) as { auth: { client_token: string } }
    ).auth.client_token;
    const blind = activityImplementations({
      ...depsFromEnv(),
      vault: vaultClient({ endpoint: env['VAULT_ADDR'], token }),
    });
    await expect(blind.discardPendingVersion(discard)).rejects.toMatchObject({ type: 'PermissionDenied' });
    await untouched();

    // Both answer: the new role is locked first, then the stored copy destroyed.
    await real.discardPendingVersion(discard);
    expect(await canLogIn(pendingValue)).toBe(false);
    expect(await canLogIn(initial)).toBe(true);
    expect(await ts.readVersion(fresh.version)).toBeNull();
    const after = await ts.snapshot();
    expect(after.currentVersion).toBe(before.currentVersion);
    expect(after.pendingVersion).toBeNull();

    // Not found: the version is already destroyed, so there is nothing to undo — the repeat succeeds, changing nothing.
    await real.discardPendingVersion(discard);
    expect(await ts.snapshot()).toEqual(after);
    expect(await canLogIn(initial)).toBe(true);
  }, 60_000);
});
