/**
 * vault-database-dynamic-role against the stack's Vault database engine and PostgreSQL: every
 * rotation is a new lease (a new database user), revoke revokes the old lease and a real login
 * proves it refused, undo of create revokes the new lease. Logins are asserted as booleans.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { tryPostgresLogin } from '../../adapters/credentials/postgres';
import type { LeasedUserPassword } from '../../adapters/credentials/vault-db-dynamic';
import { ensureVaultPostgresDynamicRole } from '../../adapters/credentials/vault-db-dynamic';
import { createActivities } from '../../activities/index';
import type { RotationActivities } from '../../activities/index';
import { credentialSchema } from '../../core/playbook/schema';
import type { Credential } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { WorkflowErrorTypes } from '../../core/failures';
import { statusQuery } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { withPgAdmin } from '../helpers/postgres';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';

useStackEnv();
type Policy = Extract<Credential, { kind: 'vault-database-dynamic-role' }>;

const deps = credentialDepsFromEnv();
const kind = createCredentialKinds(deps)['vault-database-dynamic-role'];
const suffix = randomBytes(4).toString('hex');
const connection = `rotor-test-dyn-${suffix}`;
const role = `rotor-test-dyn-${suffix}`;
const table = `rotor_dyn_test_${suffix}`;
const rotation = { workflowId: 'credentials-vault-dynamic-test', runId: suffix };
const policy = credentialSchema.parse({ kind: 'vault-database-dynamic-role', role, connection }) as Policy;

const parse = (v: string) => JSON.parse(v) as LeasedUserPassword;
const canLogIn = async (value: string) =>
  (await tryPostgresLogin({}, parse(value), { query: `select count(*) from ${table}`, timeoutMs: 5_000 })).ok;
const userExists = (username: string) =>
  withPgAdmin(async (c) => (await c.query('select 1 from pg_roles where rolname = $1', [username])).rowCount === 1);
const leaseAlive = (leaseId: string) =>
  deps.vault.write('sys/leases/lookup', { lease_id: leaseId }).then(
    () => true,
    () => false,
  );
const create = () => kind.create(policy, { currentValue: '', rotation });

beforeAll(async () => {
  await withPgAdmin((c) => c.query(`CREATE TABLE ${table} (id int)`));
  await ensureVaultPostgresDynamicRole(deps.vault, {
    connection,
    role,
    admin: deps.pgAdmin(),
    grants: [`GRANT SELECT ON ${table} TO "{{name}}";`],
  });
});

afterAll(async () => {
  await deps.vault.write(`sys/leases/revoke-prefix/database/creds/${role}`, {}).catch(() => undefined);
  await deps.vault.delete(`database/roles/${role}`).catch(() => undefined);
  await deps.vault.delete(`database/config/${connection}`).catch(() => undefined);
  await withPgAdmin((c) => c.query(`DROP TABLE IF EXISTS ${table}`));
});

describe('vault-database-dynamic-role kind', () => {
  it('create makes a new user under a new lease while the old one keeps working; revoke ends the old lease and proves the login refused', async () => {
    const old = await create();
    const fresh = await create();
    expect(parse(fresh).username).not.toBe(parse(old).username);
    expect(parse(fresh).leaseId).toMatch(new RegExp(`^database/creds/${role}/`));
    expect(await canLogIn(old)).toBe(true);
    expect(await canLogIn(fresh)).toBe(true);

    const evidence = await kind.revoke(policy, { oldValue: old, currentValue: fresh, rotation });
    expect(evidence.rejected).toBe(true);
    expect(evidence.detail).toContain(`old lease ${parse(old).leaseId} revoked`);
    expect(evidence.detail).not.toContain(parse(old).password);
    expect(evidence.detail).not.toContain(parse(fresh).password);
    expect(await leaseAlive(parse(old).leaseId)).toBe(false);
    expect(await userExists(parse(old).username)).toBe(false);
    expect(await canLogIn(old)).toBe(false);
    expect(await canLogIn(fresh)).toBe(true);

    // Idempotent: a retried revoke finds the lease gone and proves the refusal again.
    const again = await kind.revoke(policy, { oldValue: old, currentValue: fresh, rotation });
    expect(again.rejected).toBe(true);
    expect(again.detail).toContain('already gone');
  });

  it('discard (undo of create) revokes the new lease, idempotently, and leaves the current credential working', async () => {
    const current = await create();
    const pending = await create();
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    expect(await leaseAlive(parse(pending).leaseId)).toBe(false);
    expect(await canLogIn(pending)).toBe(false);
    expect(await canLogIn(current)).toBe(true);
  });

  it('a role on another connection, or no role, is refused with a clear error', async () => {
    await expect(kind.create({ ...policy, connection: 'elsewhere' }, { currentValue: '', rotation })).rejects.toThrow(
      `dynamic role '${role}' belongs to connection '${connection}', not 'elsewhere'`,
    );
    await expect(kind.create({ ...policy, role: `missing-${suffix}` }, { currentValue: '', rotation })).rejects.toThrow(
      `no dynamic role database/roles/missing-${suffix}`,
    );
  });
});

describe('vault-database-dynamic-role through the rotation workflow', () => {
  const real = createActivities(depsFromEnv());

  async function rotate(activities: RotationActivities) {
    const initial = await create();
    const ts = await vaultTestStore(initial);
    const playbook = testPlaybook(ts.store, { credential: policy });
    const tw = await startTestWorker(activities);
    try {
      return await tw.run(async () => {
        const h = await startRotation(tw, playbook);
        const out = await outcomeOf(h);
        return { out, status: await h.query(statusQuery), ts, initial };
      });
    } finally {
      await tw.close();
    }
  }

  it('rotates to a new lease; the old lease is revoked and its login refused, with the proof in the status', async () => {
    const { out, status, ts, initial } = await rotate(real);
    expect(out.ok).toBe(true);
    const now = (await ts.snapshot()).currentValue;
    expect(parse(now).leaseId).not.toBe(parse(initial).leaseId);
    expect(await canLogIn(now)).toBe(true);
    expect(await canLogIn(initial)).toBe(false);
    expect(await leaseAlive(parse(initial).leaseId)).toBe(false);
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toMatch(/refused/);
  });

  it('a failure right after create rolls back: the new lease is revoked and the old credential still works', async () => {
    let created: string | undefined;
    const faulty: RotationActivities = {
      ...real,
      async createPendingVersion(input) {
        const ref = await real.createPendingVersion(input);
        // What the real step stored (read here only to check its lease afterwards).
        if (input.store.type === 'vault') {
          const res = (await deps.vault.read(`secret/data/${input.store.path}?version=${ref.version}`)) as {
            data: { data: { value: string } };
          };
          created = res.data.data.value;
        }
        throw ApplicationFailure.create({
          type: 'InjectedFailure',
          message: 'injected after create',
          nonRetryable: true,
        });
      },
    };
    const { out, ts, initial } = await rotate(faulty);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect((out.error.cause as ApplicationFailure).type).toBe(WorkflowErrorTypes.rolledBack);
    expect(created).toBeDefined();
    const pending = created ?? '';
    expect(await leaseAlive(parse(pending).leaseId)).toBe(false);
    expect(await userExists(parse(pending).username)).toBe(false);
    expect(await canLogIn(pending)).toBe(false);
    expect((await ts.snapshot()).currentValue === initial).toBe(true);
    expect(await leaseAlive(parse(initial).leaseId)).toBe(true);
    expect(await canLogIn(initial)).toBe(true);
  });
});
