/**
 * Fault injection: the credential's target, PostgreSQL (a private server this test owns, stopped
 * with its own fast shutdown and started again on the same data), goes down
 * - during revoke: the run must alert (needs-attention), never fail and never claim the old role
 *   locked; once PostgreSQL is back, `rotor retry` finishes it with the old login refused;
 * - during an undo: the undo keeps retrying while PostgreSQL is away, then the run rolls back with
 *   the new role locked again and the old login working.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { tryPostgresLogin } from '../../adapters/credentials/postgres';
import type { UserPassword } from '../../adapters/credentials/values';
import { WorkflowErrorTypes } from '../../core/failures';
import type { PlaybookInput } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { canaryGate } from '../helpers/canary-gate';
import { runRotor } from '../helpers/cli';
import { testPlaybook } from '../helpers/playbooks';
import { privatePostgres } from '../helpers/private-service';
import type { PostgresAddress, PrivateService } from '../helpers/private-service';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';
import { timeline } from '../helpers/timeline';

const env = useStackEnv();
const suffix = randomBytes(4).toString('hex');
const table = `rotor_fault_pg_${suffix}`;

describe('PostgreSQL down (private server)', () => {
  let dir = '';
  let server: PrivateService;
  let at: PostgresAddress;
  let tw: TestWorker;
  const { mark, text: timelineText } = timeline();

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ ...at, database: 'postgres' });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const canLogIn = async (value: string) =>
    (
      await tryPostgresLogin({ ...at, database: 'postgres' }, JSON.parse(value) as UserPassword, {
        query: `select count(*) from ${table}`,
        timeoutMs: 5_000,
      })
    ).ok;
  const canLogInAs = (role: string) =>
    admin(
      async (c) =>
        (await c.query<{ rolcanlogin: boolean }>('select rolcanlogin from pg_roles where rolname = $1', [role])).rows[0]
          ?.rolcanlogin,
    );

  /** Roles `a` (logs in, the stored value) and `b` (locked) with the same grant. */
  async function rolePair(name: string) {
    const [a, b] = [`rotor_fpg_${name}_a_${suffix}`, `rotor_fpg_${name}_b_${suffix}`];
    const password = randomBytes(18).toString('base64url');
    await admin(async (c) => {
      await c.query(`CREATE ROLE ${pg.escapeIdentifier(a)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
      await c.query(`CREATE ROLE ${pg.escapeIdentifier(b)} NOLOGIN`);
      await c.query(`GRANT SELECT ON ${table} TO ${pg.escapeIdentifier(a)}, ${pg.escapeIdentifier(b)}`);
    });
    return { a, b, initial: JSON.stringify({ username: a, password }) };
  }

  const playbookFor = (ts: TestStore, roles: [string, string], spec: Partial<PlaybookInput['spec']>) =>
    testPlaybook(ts.store, {
      credential: { kind: 'postgres-alternating-users', roles },
      canaries: [
        { type: 'postgres-login', name: 'login', host: at.host, port: at.port, query: `select count(*) from ${table}` },
      ],
      ...spec,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-fault-pg-'));
    const pgs = await privatePostgres(dir);
    server = pgs;
    at = pgs.connection;
    await server.start();
    await admin((c) => c.query(`CREATE TABLE ${table} (id int)`));
    // The worker's admin connection and default database are the private server (standard PG* variables).
    const workerEnv = {
      ...process.env,
      PGHOST: at.host,
      PGPORT: String(at.port),
      PGUSER: at.user,
      PGPASSWORD: at.password,
      PGDATABASE: 'postgres',
    };
    tw = await startTestWorker(createActivities(depsFromEnv(workerEnv)));
  });
  afterAll(async () => {
    console.info(`postgres down: ${timelineText()}`);
    await tw?.close();
    await server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('during revoke: needs-attention without claiming the old role locked; rotor retry finishes it once PostgreSQL is back', async () => {
    const pair = await rolePair('revoke');
    const ts = await vaultTestStore(pair.initial);
    const before = await ts.snapshot();
    const playbook = playbookFor(ts, [pair.a, pair.b], {
      soak: '3s',
      timeouts: { revoke: '5s' },
      // Only rotor retry may finish it within the test.
      needsAttention: { retryEvery: '1h' },
    });
    await tw.run(async () => {
      const h = await startRotation(tw, playbook);
      await waitForPhase(h, 'soak');
      await server.stop('SIGINT');
      mark('PostgreSQL stopped during soak (revoke next)');
      await waitForPhase(h, 'needs-attention');
      mark('needs-attention');

      const stuck = await h.query<RotationStatus>(statusQuery);
      expect(stuck.pointOfNoReturn).toBe(true);
      expect(stuck.attention).toMatch(/revoke keeps failing: .*(ECONNREFUSED|connect)/);
      // Nothing claims the old credential revoked: no evidence was recorded.
      expect(stuck.revocation).toBeUndefined();
      expect((await h.describe()).status.name).toBe('RUNNING');
      // The store already serves the new role (promoted); the old version is its previous one.
      const promoted = await ts.snapshot();
      expect(promoted.previousVersion).toBe(before.currentVersion);
      expect((JSON.parse(promoted.currentValue) as UserPassword).username).toBe(pair.b);

      await server.start();
      mark('PostgreSQL started again');
      // Honest state while it waited: the old role was never locked, so it still logs in.
      expect(await canLogIn(pair.initial)).toBe(true);
      const retry = await runRotor({ ...process.env, ...env }, 'retry', playbook.spec.secret.name, '--by', 'oncall');
      expect({ code: retry.code, stderr: retry.stderr }).toEqual({ code: 0, stderr: '' });
      const out = await outcomeOf(h);
      mark('rotated');
      expect(out.ok).toBe(true);
      const done = await h.query<RotationStatus>(statusQuery);
      expect(done.phase).toBe('rotated');
      expect(done.revocation?.rejected).toBe(true);
      expect(done.revocation?.detail).toMatch(/28P01|28000|refused/);
    });
    const after = await ts.snapshot();
    expect(after.previousVersion).toBe(before.currentVersion);
    expect(after.pendingVersion).toBeNull();
    expect(await canLogIn(pair.initial)).toBe(false);
    expect(await canLogInAs(pair.a)).toBe(false);
    expect(await canLogIn(after.currentValue)).toBe(true);
  });

  it('during an undo: the undo retries while PostgreSQL is away, then the run rolls back with the new role locked', async () => {
    const pair = await rolePair('undo');
    const ts = await vaultTestStore(pair.initial);
    const before = await ts.snapshot();
    // A first canary that runs until PostgreSQL is stopped, so the login canary after it fails.
    const gate = canaryGate('slow');
    const playbook = playbookFor(ts, [pair.a, pair.b], {
      canaries: [gate.canary, { type: 'postgres-login', name: 'login', host: at.host, port: at.port, timeout: '3s' }],
    });
    await tw.run(async () => {
      const h = await startRotation(tw, playbook);
      await waitForPhase(h, 'canary');
      await gate.running();
      expect(await canLogInAs(pair.b)).toBe(true);
      await server.stop('SIGINT');
      mark('PostgreSQL stopped during the canary');
      gate.open();
      await waitForPhase(h, 'compensating');
      mark('compensating');
      // The undo (lock the new role) cannot reach PostgreSQL; the run waits for it rather than giving up.
      await new Promise((r) => setTimeout(r, 5_000));
      expect((await h.query<RotationStatus>(statusQuery)).phase).toBe('compensating');
      await server.start();
      mark('PostgreSQL started again');
      const out = await outcomeOf(h);
      mark('rolled back');
      expect(out.ok).toBe(false);
      if (!out.ok) expect((out.error.cause as ApplicationFailure).type).toBe(WorkflowErrorTypes.rolledBack);
    });
    const after = await ts.snapshot();
    expect(after.currentVersion).toBe(before.currentVersion);
    expect(after.currentValue === before.currentValue).toBe(true);
    expect(after.pendingVersion).toBeNull();
    expect(await canLogInAs(pair.b)).toBe(false);
    expect(await canLogIn(pair.initial)).toBe(true);
    gate.dispose();
  });
});
