/**
 * Real credentials through the whole workflow: PostgreSQL alternating users stored in Secrets
 * Manager, canaried with a real login, revoked with proof. Logins are asserted as booleans.
 */
import { randomBytes } from 'node:crypto';
import type { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tryPostgresLogin } from '../../adapters/credentials/postgres';
import type { UserPassword } from '../../adapters/credentials/values';
import { createActivities } from '../../activities/index';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { createRolePair, withPgAdmin } from '../helpers/postgres';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';
import { WorkflowErrorTypes } from '../../core/failures';

useStackEnv();
const suffix = randomBytes(4).toString('hex');
const table = `rotor_wf_cred_${suffix}`;
const roles: string[] = [];

const admin = withPgAdmin;

const canLogIn = async (value: string) =>
  (
    await tryPostgresLogin({}, JSON.parse(value) as UserPassword, {
      query: `select count(*) from ${table}`,
      timeoutMs: 5000,
    })
  ).ok;

async function rolePair(name: string): Promise<{ a: string; b: string; initial: string }> {
  const [a, b] = [`rotor_wf_${name}_a_${suffix}`, `rotor_wf_${name}_b_${suffix}`];
  const { initial } = await createRolePair(a, b, table);
  roles.push(a, b);
  return { a, b, initial };
}

describe('rotation of PostgreSQL alternating users through the workflow', () => {
  let tw: TestWorker;
  beforeAll(async () => {
    await admin((c) => c.query(`CREATE TABLE ${table} (id int)`));
    tw = await startTestWorker(createActivities(depsFromEnv()));
  });
  afterAll(async () => {
    await tw.close();
    await admin(async (c) => {
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = any($1)', [roles]);
      await c.query(`DROP TABLE IF EXISTS ${table}`);
      for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`);
    });
  });

  async function rotate(name: string, query: string) {
    const pair = await rolePair(name);
    const ts = await awsTestStore(pair.initial);
    const playbook = testPlaybook(ts.store, {
      credential: { kind: 'postgres-alternating-users', roles: [pair.a, pair.b] },
      canaries: [{ type: 'postgres-login', name: 'login', query }],
    });
    const result = await tw.run(async () => {
      const h = await startRotation(tw, playbook);
      const out = await outcomeOf(h);
      return { out, status: await h.query(statusQuery) };
    });
    return { ...result, pair, ts };
  }

  it('rotates to the other role; the new credential logs in, the old one is refused, and the proof is recorded', async () => {
    const { out, status, pair, ts } = await rotate('ok', `select count(*) from ${table}`);
    expect(out.ok).toBe(true);
    const now = await ts.snapshot();
    expect((JSON.parse(now.currentValue) as UserPassword).username).toBe(pair.b);
    expect(await canLogIn(now.currentValue)).toBe(true);
    expect(await canLogIn(pair.initial)).toBe(false);
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toMatch(/28P01|28000|refused|authentication/i);
  });

  it('a failing canary rolls back: the new credential is refused and the old one still works', async () => {
    const { out, pair, ts } = await rotate('bad', 'select * from a_table_that_does_not_exist');
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect((out.error.cause as ApplicationFailure).type).toBe(WorkflowErrorTypes.rolledBack);
    const now = await ts.snapshot();
    expect(now.currentValue === pair.initial).toBe(true);
    expect(await canLogIn(pair.initial)).toBe(true);
    const pwB = await admin(
      async (c) =>
        (await c.query<{ rolcanlogin: boolean }>('select rolcanlogin from pg_roles where rolname = $1', [pair.b]))
          .rows[0]?.rolcanlogin,
    );
    expect(pwB).toBe(false);
  });
});
