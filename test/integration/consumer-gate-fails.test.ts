/**
 * The consumer gate failing for real: a consumer pod on cluster-b's node that reports what it read
 * but loaded the credential at startup keeps the gate closed until `timeouts.gate` runs out. The
 * run fails as ConsumerGateFailed, rolls back (store, PostgreSQL roles and the Secret in all three
 * clusters as before, consumers resynced onto the old version), and the status, the audit trail
 * and `rotor watch` name the cluster and the pod that blocked it. Before promote the consumer never
 * reads the new version; before revoke it still uses the old one as current, so the old credential
 * is never revoked (the revoke gate is the last step before the point of no return).
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tryPostgresLogin } from '../../adapters/credentials/postgres';
import type { UserPassword } from '../../adapters/credentials/values';
import { createActivities } from '../../activities/index';
import { WorkflowErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationStatus, StageName } from '../../core/status';
import type { AuditRecord } from '../../workers/audit-record';
import { auditSinks } from '../../workers/audit-sink';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { runRotor } from '../helpers/cli';
import { expectedReads, readsLog, runningPodOf, shownReads, volumeConsumer, waitRunning } from '../helpers/consumers';
import { kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import { pushedSecret } from '../helpers/playbooks';
import { createRolePair, withPgAdmin } from '../helpers/postgres';
import { useStackEnv } from '../helpers/stack-env';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();
const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const kc = Object.fromEntries(contexts.map((c) => [c, kubeconfigFor(c)]));
const coreOf = (c: (typeof contexts)[number]) => (kc[c] ?? kubeconfigFor(c)).makeApiClient(CoreV1Api);
const coreB = coreOf('cluster-b');
const suffix = randomBytes(4).toString('hex');
const namespace = `gatefail-${suffix}`;
const table = `rotor_gatefail_${suffix}`;
const roles: string[] = [];

const canLogIn = async (value: string) =>
  (
    await tryPostgresLogin({}, JSON.parse(value) as UserPassword, {
      query: `select count(*) from ${table}`,
      timeoutMs: 5000,
    })
  ).ok;
const canLogInAsRole = (role: string) =>
  withPgAdmin(
    async (c) =>
      (await c.query<{ rolcanlogin: boolean }>('select rolcanlogin from pg_roles where rolname = $1', [role])).rows[0]
        ?.rolcanlogin,
  );

/** One case: a Secret in every cluster holding a PostgreSQL login, its store and playbook. */
interface Case {
  secretName: string;
  initial: string;
  roles: [string, string];
  ts: TestStore;
  playbook: Playbook;
}

async function setUpCase(name: string): Promise<Case> {
  const pair: [string, string] = [`rotor_gf_${name}_a_${suffix}`, `rotor_gf_${name}_b_${suffix}`];
  const { initial } = await createRolePair(pair[0], pair[1], table);
  roles.push(...pair);
  const secretName = `gate-fail-${name}`;
  const { ts, playbook } = await pushedSecret({
    clusters: Object.fromEntries(contexts.map((c) => [c, coreOf(c)])),
    namespace,
    secretName,
    initial,
    spec: {
      credential: { kind: 'postgres-alternating-users', roles: pair },
      timeouts: { gate: '20s' },
      consumerGate: { settle: '3s' },
    },
  });
  return { secretName, initial, roles: pair, ts, playbook };
}

describe('consumer gate failing (real pods)', () => {
  let tw: TestWorker;
  let promoteCase: Case;
  let revokeCase: Case;
  const audit: AuditRecord[] = [];

  beforeAll(async () => {
    await withPgAdmin((c) => c.query(`CREATE TABLE ${table} (id int)`));
    for (const c of contexts) await coreOf(c).createNamespace({ body: { metadata: { name: namespace } } });
    promoteCase = await setUpCase('promote');
    revokeCase = await setUpCase('revoke');
    const apps = kc['cluster-b']?.makeApiClient(AppsV1Api);
    if (!apps) throw new Error('no cluster-b kubeconfig');
    // Loaded both keys at startup: never reads the new version beside the old one.
    await apps.createNamespacedDeployment({
      namespace,
      body: volumeConsumer('frozen', promoteCase.secretName, true, ['value', 'value-other']),
    });
    // A well-behaved reporter beside it, to show the rollback resyncs consumers.
    await apps.createNamespacedDeployment({
      namespace,
      body: volumeConsumer('reporter', promoteCase.secretName, true),
    });
    // Loaded its current key at startup, reads the other key live: passes the promote gate, not the revoke gate.
    await apps.createNamespacedDeployment({
      namespace,
      body: volumeConsumer('cached', revokeCase.secretName, true, ['value']),
    });
    await waitRunning(coreB, namespace, ['frozen', 'reporter', 'cached']);
    tw = await startTestWorker(
      createActivities(depsFromEnv()),
      auditSinks({ write: (l) => audit.push(JSON.parse(l) as AuditRecord) }),
    );
  }, 180_000);

  afterAll(async () => {
    await tw.close();
    await Promise.all(contexts.map((c) => purgeNamespace(kc[c] ?? kubeconfigFor(c), namespace).catch(() => undefined)));
    await withPgAdmin(async (c) => {
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where usename = any($1)', [roles]);
      await c.query(`DROP TABLE IF EXISTS ${table}`);
      for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`);
    });
  }, 120_000);

  /** Rotates the case's secret; returns the failure chain, the final status and `rotor watch`'s output. */
  async function rotate(k: Case) {
    return tw.run(async () => {
      const h = await tw.client.workflow.start('rotationWorkflow', {
        taskQueue: tw.taskQueue,
        workflowId: rotationWorkflowId(k.playbook.spec.secret.name),
        args: [{ playbook: k.playbook, trigger: 'manual', requestedBy: 'test' }],
      });
      const out = await outcomeOf(h);
      const status = await h.query<RotationStatus>(statusQuery);
      // The finished run as an operator sees it (the test worker answers the CLI's status query).
      const watch = await runRotor({ ...process.env, ...env }, 'watch', k.playbook.spec.secret.name);
      return { out, status, watch };
    });
  }

  /** The failure is RotationRolledBack caused by ConsumerGateFailed; returns the gate's message. */
  function gateFailure(out: Awaited<ReturnType<typeof rotate>>['out']): string {
    expect(out.ok).toBe(false);
    if (out.ok) return '';
    const rolledBack = out.error.cause;
    expect(rolledBack).toBeInstanceOf(ApplicationFailure);
    expect((rolledBack as ApplicationFailure).type).toBe(WorkflowErrorTypes.rolledBack);
    const gate = (rolledBack as ApplicationFailure).cause;
    expect(gate).toBeInstanceOf(ApplicationFailure);
    expect((gate as ApplicationFailure).type).toBe(WorkflowErrorTypes.consumerGateFailed);
    return (gate as ApplicationFailure).message;
  }

  /** Everything is as before the run: store, Secrets in every cluster, PostgreSQL roles. */
  async function expectRolledBack(k: Case, status: RotationStatus): Promise<void> {
    expect(status.phase).toBe('rolled-back');
    expect(status.pointOfNoReturn).toBe(false);
    expect(status.revocation).toBeUndefined();
    expect(status.compensation.filter((c) => !c.ok)).toEqual([]);
    expect(status.compensation.map((c) => c.step)).toContain('resync consumers to the old version');
    const snap = await k.ts.snapshot();
    expect(snap.currentValue === k.initial).toBe(true);
    expect(snap.pendingVersion).toBeNull();
    for (const c of contexts) {
      const data = await secretData(kc[c] ?? kubeconfigFor(c), namespace, k.secretName);
      // Compared as booleans: a value never goes into an assertion message.
      expect({ cluster: c, keys: Object.keys(data), old: data['value'] === k.initial }).toEqual({
        cluster: c,
        keys: ['value'],
        old: true,
      });
    }
    // The old login still works; the other role is locked again.
    expect(await canLogIn(k.initial)).toBe(true);
    expect(await canLogInAsRole(k.roles[1])).toBe(false);
  }

  const stageState = (s: RotationStatus, n: StageName) => s.stages.find((x) => x.name === n);
  const gateEvents = (k: Case) =>
    audit.filter(
      (r) => r.event === 'consumer-gate' && r.workflowId === rotationWorkflowId(k.playbook.spec.secret.name),
    );

  it('a consumer that never reads the new version holds the promote gate: rolled back, naming cluster and pod', async () => {
    const frozen = await runningPodOf(coreB, namespace, 'frozen');
    const pod = frozen.metadata?.name ?? '';
    const { out, status, watch } = await rotate(promoteCase);

    const message = gateFailure(out);
    const why = `cluster cluster-b: after \\d+s still waiting for 1 consumer pod\\(s\\): ${pod}: does not read value-other yet`;
    expect(message).toMatch(new RegExp(`^promote gate failed in 1 of 3 cluster\\(s\\): ${why}$`));
    expect(status.failure).toMatch(new RegExp(`^promote-gate failed: .*${why}`));
    expect(stageState(status, 'promote-gate')).toMatchObject({ state: 'failed' });
    expect(stageState(status, 'promote')?.state).toBe('pending');
    // The store never moved its label: nothing to demote, and the new version is gone.
    await expectRolledBack(promoteCase, status);

    // The audit trail has every cluster's verdict: a and c have no consumers, b is held by the pod.
    const promoteGate = gateEvents(promoteCase).filter((r) => r.stage === 'promote');
    const verdict = (cluster: string) => promoteGate.filter((r) => r.cluster === cluster).map((r) => r.detail);
    expect(promoteGate).toHaveLength(3);
    for (const c of ['cluster-a', 'cluster-c'])
      expect(verdict(c)[0]).toMatch(/^promote gate ✔ [\d.]+s: no consumer pods$/);
    expect(verdict('cluster-b')[0]).toMatch(new RegExp(`^promote gate ✘ [\\d.]+s: ${why}$`));
    // The rollback resynced cluster-b's consumers onto the old version and saw both report it.
    expect(status.clusters.find((c) => c.name === 'cluster-b')?.gate).toMatch(/^restore gate ✔ [\d.]+s: 2 reported$/);
    const reporter = await runningPodOf(coreB, namespace, 'reporter');
    const lines = await readsLog(coreB, namespace, reporter);
    const last = lines[lines.length - 1];
    expect(last && shownReads(last.reads)).toBe(expectedReads(reporter, promoteCase.initial, null));

    // The CLI: exit 2 (rolled back), the failure chain names the gate, the cluster and the pod.
    expect(watch.code, watch.stderr).toBe(2);
    expect(watch.stderr).toContain('✘ rolled back');
    expect(watch.stderr).toMatch(new RegExp(`caused by: ConsumerGateFailed: promote gate failed .*${why}`));
  }, 300_000);

  it('a consumer still using the old version as current holds the revoke gate: the old credential is not revoked', async () => {
    const cached = await runningPodOf(coreB, namespace, 'cached');
    const pod = cached.metadata?.name ?? '';
    const { out, status, watch } = await rotate(revokeCase);

    const message = gateFailure(out);
    const why = `cluster cluster-b: after \\d+s still waiting for 1 consumer pod\\(s\\): ${pod}: reads version \\S+ under value`;
    expect(message).toMatch(new RegExp(`^revoke gate failed in 1 of 3 cluster\\(s\\): ${why}$`));
    expect(status.failure).toMatch(new RegExp(`^revoke-gate failed: .*${why}`));
    // The pod passed the promote gate (it reads the other key live), then held the revoke gate.
    expect(stageState(status, 'promote')?.state).toBe('done');
    expect(stageState(status, 'revoke-gate')).toMatchObject({ state: 'failed' });
    expect(stageState(status, 'revoke')?.state).toBe('pending');
    const gates = gateEvents(revokeCase).filter((r) => r.cluster === 'cluster-b');
    expect(gates.map((r) => r.detail)).toEqual([
      expect.stringMatching(/^promote gate ✔ [\d.]+s: 1 reported$/),
      expect.stringMatching(new RegExp(`^revoke gate ✘ [\\d.]+s: ${why}$`)),
      expect.stringMatching(/^restore gate ✔ [\d.]+s: 1 reported$/),
    ]);
    // Promote was undone: the old version is current again and its login still works.
    expect(status.compensation.map((c) => c.step)).toContain('demote new version');
    await expectRolledBack(revokeCase, status);
    // The consumer's files hold the old version alone again (the rollback touched it).
    const lines = await readsLog(coreB, namespace, cached);
    const last = lines[lines.length - 1];
    expect(last && shownReads(last.reads)).toBe(expectedReads(cached, revokeCase.initial, null));

    expect(watch.code, watch.stderr).toBe(2);
    expect(watch.stderr).toMatch(new RegExp(`caused by: ConsumerGateFailed: revoke gate failed .*${why}`));
  }, 300_000);
});
