/**
 * The `mariadb-users` abuses, end to end: a real worker with real activities under the example
 * two-team policy (dev/policy/two-teams.yaml) against the stack's MariaDB. A payments playbook
 * tries to make rotor change users only the orders team, or nobody, may touch: the orders team's
 * users (also through `retainCurrentPassword`), rotor's own admin account, an account with another
 * host part, a server of its choice, and a `mariadb-login` canary elsewhere. The victims exist
 * before the attack, made with the stack's admin access the attacking rotation never holds. Each
 * abuse is refused at plan with the field and the rule, and every victim as the server holds it
 * (SHOW CREATE USER: password hash digest and lock; SHOW GRANTS) equals its state before; a last
 * test shows that comparison reports a deliberate change of each kind. The payments team's own
 * users still rotate under the same policy.
 */
import { randomBytes } from 'node:crypto';
import type { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserPassword } from '../../adapters/credentials/values';
import { createActivities } from '../../activities/index';
import { WorkflowErrorTypes } from '../../core/failures';
import type { Playbook, PlaybookInput } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import {
  account,
  canLogInMariadb,
  createUserPair,
  dropUsers,
  mariadbUsersProbe,
  withMariadbAdmin,
} from '../helpers/mariadb';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { changedVictims, changesBetween, snapshotVictims } from '../helpers/victims';
import type { Probe } from '../helpers/victims';
import { manualRotationOutcome, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const playbookFile = 'playbooks/payments/abuse-mariadb.yaml';
const requestedBy = 'alice@laptop';
const env = useStackEnv();
const suffix = randomBytes(4).toString('hex');
const database = `rotor_abuse_${suffix}`;
/** The policy names these users; the victims are the orders team's and one on another host part. */
const orders = ['orders_a', 'orders_b'];
const payments = ['payments_a', 'payments_b'];
const elsewhere = { user: 'payments_a', host: 'localhost' };
const created: [string, string][] = [];

let tw: TestWorker;
let paymentsInitial = '';
const victims: Record<string, Probe> = {
  "orders' MariaDB users": mariadbUsersProbe(orders),
  "rotor's admin account": mariadbUsersProbe(['rotor']),
  "payments_a@'localhost' (another account)": mariadbUsersProbe([elsewhere.user], elsewhere.host),
};

/** Creates `'user'@'host'` afresh (the policy names these users, so they have fixed names). */
async function createVictim(c: mysql.Connection, user: string, host = '%'): Promise<void> {
  await c.query(`DROP USER IF EXISTS ${account(user, host)}`);
  await c.query(`CREATE USER ${account(user, host)} IDENTIFIED BY ${mysql.escape(randomBytes(16).toString('hex'))}`);
  await c.query(`GRANT SELECT ON ${mysql.escapeId(database)}.* TO ${account(user, host)}`);
  created.push([user, host]);
}

beforeAll(async () => {
  tw = await startTestWorker(createActivities(depsFromEnv({ ...env, ROTOR_POLICY_FILE: 'dev/policy/two-teams.yaml' })));
  await withMariadbAdmin(async (c) => {
    await c.query(`CREATE DATABASE ${mysql.escapeId(database)}`);
    await c.query(`CREATE TABLE ${mysql.escapeId(database)}.t (id int)`);
    for (const u of orders) await createVictim(c, u);
    await createVictim(c, elsewhere.user, elsewhere.host);
  });
  // The payments team's own pair, for the rotation the policy allows.
  await dropUsers(payments);
  paymentsInitial = (await createUserPair(payments[0] ?? '', payments[1] ?? '', database)).initial;
});

afterAll(async () => {
  await tw?.close();
  await withMariadbAdmin(async (c) => {
    for (const [u, h] of created) await c.query(`DROP USER IF EXISTS ${account(u, h)}`);
    await c.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
  });
  await dropUsers(payments);
});

async function run(playbook: Playbook) {
  return manualRotationOutcome(tw, { playbook, playbookFile, requestedBy });
}

async function refusal(playbook: Playbook): Promise<ApplicationFailure> {
  const out = await run(playbook);
  if (out.ok) throw new Error(`${playbook.spec.secret.name} was rotated although the policy forbids it`);
  const cause = (out.error as WorkflowFailedError).cause;
  if (!(cause instanceof ApplicationFailure)) throw out.error;
  return cause;
}

type Spec = Partial<PlaybookInput['spec']>;
const credential = (c: Record<string, unknown>) =>
  ({ credential: { kind: 'mariadb-users', users: payments, ...c } }) as Spec;
const abuses: { abuse: string; spec: Spec; path: string; rule: string }[] = [
  {
    abuse: "names the other team's MariaDB users",
    spec: credential({ users: orders }),
    path: 'spec.credential.users[0]',
    rule: 'tenants[payments].allow.mariadb',
  },
  {
    abuse: "takes the other team's user with retainCurrentPassword",
    spec: credential({ users: ['orders_a'], retainCurrentPassword: true }),
    path: 'spec.credential.users[0]',
    rule: 'tenants[payments].allow.mariadb',
  },
  {
    abuse: "rotates rotor's own admin account",
    spec: credential({ users: ['payments_a', 'rotor'] }),
    path: 'spec.credential.users[1]',
    rule: 'tenants[payments].allow.mariadb',
  },
  {
    abuse: 'names its own user name on another account host part',
    spec: credential({ userHost: elsewhere.host }),
    path: 'spec.credential.userHost',
    rule: 'tenants[payments].allow.mariadb',
  },
  {
    abuse: "sends rotor's MariaDB admin account to a server of its choice",
    spec: credential({ host: '203.0.113.7' }),
    path: 'spec.credential.host',
    rule: 'mariadbServers',
  },
  {
    abuse: "sends rotor's MariaDB admin account to the PostgreSQL server's port",
    spec: credential({ host: '127.0.0.1', port: 55432 }),
    path: 'spec.credential.host',
    rule: 'mariadbServers',
  },
  {
    abuse: 'sends a mariadb-login canary to a server of its choice',
    spec: { ...credential({}), canaries: [{ type: 'mariadb-login', name: 'login', host: '203.0.113.7' }] },
    path: 'spec.canaries[0].host',
    rule: 'tenants[payments].allow.canaries.mariadbLogin',
  },
];

describe('a mariadb-users playbook cannot make rotor its deputy', () => {
  it.each(abuses)('refused before any change when it $abuse', async ({ spec, path, rule }) => {
    const before = await snapshotVictims(victims);
    const store = await awsTestStore(paymentsInitial, undefined, 'payments/');
    const failure = await refusal(testPlaybook(store.store, spec));
    expect(failure.type).toBe(WorkflowErrorTypes.policyRefused);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('refused by the rotor policy, nothing was changed');
    expect(failure.message).toContain(`${path}: `);
    expect(failure.message).toContain(`policy rule ${rule}`);
    expect(changesBetween(before, await snapshotVictims(victims))).toEqual([]);
  });
});

describe('under the same policy, what it allows', () => {
  it("rotates the team's own users, canaried on its own server, and leaves every victim as it was", async () => {
    const before = await snapshotVictims(victims);
    const store = await awsTestStore(paymentsInitial, undefined, 'payments/');
    const out = await run(
      testPlaybook(store.store, {
        ...credential({}),
        canaries: [{ type: 'mariadb-login', name: 'login', query: `select count(*) from ${database}.t` }],
      }),
    );
    expect(out.ok ? undefined : out.error).toBeUndefined();
    const now = (await store.snapshot()).currentValue;
    expect((JSON.parse(now) as UserPassword).username).toBe('payments_b');
    expect(await canLogInMariadb(now, `${database}.t`)).toBe(true);
    expect(await canLogInMariadb(paymentsInitial, `${database}.t`)).toBe(false);
    expect(changesBetween(before, await snapshotVictims(victims))).toEqual([]);
  });
});

describe('the "nothing changed" comparison', () => {
  it('reports a deliberate change to each victim (password, lock, grants), and only that victim', async () => {
    const changes: [string, string][] = [
      ["orders' MariaDB users", `ALTER USER ${account('orders_a')} IDENTIFIED BY 'changed-out-of-band-1'`],
      ["orders' MariaDB users", `ALTER USER ${account('orders_b')} ACCOUNT LOCK`],
      ["orders' MariaDB users", `GRANT INSERT ON ${mysql.escapeId(database)}.* TO ${account('orders_a')}`],
      [
        "payments_a@'localhost' (another account)",
        `ALTER USER ${account(elsewhere.user, elsewhere.host)} IDENTIFIED BY 'changed-out-of-band-2'`,
      ],
    ];
    for (const [name, sql] of changes) {
      const before = await snapshotVictims(victims);
      await withMariadbAdmin((c) => c.query(sql));
      expect({ sql, reported: changedVictims(changesBetween(before, await snapshotVictims(victims))) }).toEqual({
        sql,
        reported: [name],
      });
    }
  });
});
