/**
 * MariaDB alternating users through the whole workflow, against the stack's MariaDB and a Secrets
 * Manager store: rotation with a real `mariadb-login` canary and proof of revocation; rollback at
 * the canary; and a failure injected right after each step that changed the world before revoke
 * (create, the canary, promote), each undone: the new user locked again, the old one logging in,
 * its password hash and grants as before, the store as before. Logins are asserted as booleans.
 */
import { randomBytes } from 'node:crypto';
import type { ApplicationFailure } from '@temporalio/common';
import { ActivityFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserPassword } from '../../adapters/credentials/values';
import { createActivities } from '../../activities/index';
import type { RotationActivities } from '../../activities/index';
import { WorkflowErrorTypes } from '../../core/failures';
import type { PlaybookInput } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import {
  canLogInMariadb,
  createTestDatabase,
  createUserPair,
  dropTestDatabase,
  mariadbUsersProbe,
} from '../helpers/mariadb';
import { failingAfter } from '../helpers/failing-after';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { recordRotation } from '../helpers/history-recorder';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

useStackEnv();
const suffix = randomBytes(4).toString('hex');
const database = `rotor_wf_${suffix}`;
const table = `${database}.t`;
const users: string[] = [];
const real = createActivities(depsFromEnv());

const canLogIn = (value: string) => canLogInMariadb(value, table);

async function userPair(name: string): Promise<{ a: string; b: string; initial: string }> {
  const [a, b] = [`r_wf_${name}_a_${suffix}`, `r_wf_${name}_b_${suffix}`];
  const { initial } = await createUserPair(a, b, database);
  users.push(a, b);
  return { a, b, initial };
}

/** One run; `fixture` names the replay fixture it stands for (saved only while recording). */
async function rotate(
  tw: TestWorker,
  name: string,
  spec: (pair: { a: string; b: string }) => Partial<PlaybookInput['spec']>,
  fixture?: string,
) {
  const pair = await userPair(name);
  const ts = await awsTestStore(pair.initial);
  const probe = mariadbUsersProbe([pair.a, pair.b]);
  const before = { users: await probe(), store: await ts.snapshot() };
  const playbook = testPlaybook(ts.store, {
    credential: { kind: 'mariadb-users', users: [pair.a, pair.b] },
    ...spec(pair),
  });
  const result = await tw.run(async () => {
    const h = await startRotation(tw, playbook);
    const out = await outcomeOf(h);
    if (fixture) await recordRotation(h, fixture, ts);
    return { out, status: await h.query(statusQuery) };
  });
  return { ...result, pair, ts, probe, before };
}

const loginCanary = (query: string) => ({ canaries: [{ type: 'mariadb-login' as const, name: 'login', query }] });

beforeAll(() => createTestDatabase(database));
afterAll(() => dropTestDatabase(database, users));

describe('rotation of MariaDB alternating users through the workflow', () => {
  let tw: TestWorker;
  beforeAll(async () => {
    tw = await startTestWorker(real);
  });
  afterAll(async () => {
    await tw.close();
  });

  it('rotates to the other user; the new credential logs in, the old one is refused, and the proof is recorded', async () => {
    const { out, status, pair, ts, probe } = await rotate(
      tw,
      'ok',
      () => loginCanary(`select count(*) from ${table}`),
      'mariadb-users-success',
    );
    expect(out.ok ? undefined : out.error).toBeUndefined();
    const now = await ts.snapshot();
    expect((JSON.parse(now.currentValue) as UserPassword).username).toBe(pair.b);
    expect(await canLogIn(now.currentValue)).toBe(true);
    expect(await canLogIn(JSON.stringify({ username: pair.a, password: 'x' }))).toBe(false);
    expect((await probe()).map((u) => u.locked)).toEqual([true, false]);
    expect(status.revocation?.rejected).toBe(true);
    expect(status.revocation?.detail).toMatch(/with the old password refused by 127\.0\.0\.1:53306: (1045|4151) /);
    expect(status.canaries?.[0]).toMatchObject({ ok: true });
  });

  it('a failing canary rolls back: the new user is locked again, the old one still works, the store is as before', async () => {
    const { out, pair, ts, probe, before } = await rotate(
      tw,
      'bad',
      () => loginCanary(`select * from ${database}.no_such_table`),
      'mariadb-users-rolled-back',
    );
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect((out.error.cause as ApplicationFailure).type).toBe(WorkflowErrorTypes.rolledBack);
    expect((out.error.cause as ApplicationFailure).message).toContain('1146');
    const now = await ts.snapshot();
    expect(now.currentValue === pair.initial).toBe(true);
    expect(now.pendingVersion).toBeNull();
    expect(await canLogIn(pair.initial)).toBe(true);
    const after = await probe();
    expect(after[0]).toEqual(before.users[0]);
    expect(after[1]).toMatchObject({ locked: true, grants: before.users[1]?.grants });
  });

  const injectionPoints: (keyof RotationActivities)[] = ['createPendingVersion', 'runCanary', 'promoteVersion'];
  it.each(injectionPoints)(
    'a failure right after %s is undone: new user locked, old user and store exactly as before',
    async (point) => {
      const faulty = await startTestWorker(failingAfter(real, point));
      try {
        const { out, pair, ts, probe, before } = await rotate(faulty, point.toLowerCase().slice(0, 8), () =>
          loginCanary('select 1'),
        );
        expect(out.ok).toBe(false);
        if (out.ok) return;
        const rolledBack = out.error.cause as ApplicationFailure;
        expect(rolledBack.type).toBe(WorkflowErrorTypes.rolledBack);
        expect(rolledBack.cause).toBeInstanceOf(ActivityFailure);
        expect((rolledBack.cause?.cause as ApplicationFailure).type).toBe('InjectedFailure');
        const now = await ts.snapshot();
        expect(now.currentVersion).toBe(before.store.currentVersion);
        expect(now.currentValue === before.store.currentValue).toBe(true);
        expect(now.pendingVersion).toBeNull();
        expect(await canLogIn(pair.initial)).toBe(true);
        const after = await probe();
        expect(after[0]).toEqual(before.users[0]);
        // The other user was unlocked with a new password by create; the undo locked it again.
        expect(after[1]).toMatchObject({ exists: true, locked: true, grants: before.users[1]?.grants });
        expect(after[1]?.password).not.toBe(before.users[1]?.password);
      } finally {
        await faulty.close();
      }
    },
  );
});
