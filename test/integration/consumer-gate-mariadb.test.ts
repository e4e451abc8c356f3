/**
 * Rollback at the consumer gate for `mariadb-users`, with real pods on cluster-b's node: a consumer
 * that loaded both keys at startup never reads the new version, so the promote gate stays closed
 * until `timeouts.gate` runs out; one that loaded its current key at startup passes the promote
 * gate and holds the revoke gate. Each run fails as ConsumerGateFailed and rolls back: the store and
 * the Secret in all three clusters as before, the MariaDB user made current-to-be locked again,
 * the old one logging in with its password hash and grants unchanged (never revoked).
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { WorkflowErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { volumeConsumer, waitRunning } from '../helpers/consumers';
import { kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import {
  canLogInMariadb,
  createTestDatabase,
  createUserPair,
  dropTestDatabase,
  mariadbUsersProbe,
} from '../helpers/mariadb';
import type { MariadbUserState } from '../helpers/mariadb';
import { pushedSecret } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

useStackEnv();
const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const coreOf = (c: (typeof contexts)[number]) => kubeconfigFor(c).makeApiClient(CoreV1Api);
const suffix = randomBytes(4).toString('hex');
const namespace = `gate-maria-${suffix}`;
const database = `rotor_gate_${suffix}`;
const table = `${database}.t`;
const users: string[] = [];

/** One case: a Secret in every cluster holding a MariaDB login, its store, playbook and users' state. */
interface Case {
  secretName: string;
  initial: string;
  ts: TestStore;
  playbook: Playbook;
  probe: () => Promise<MariadbUserState[]>;
  before: MariadbUserState[];
}

async function setUpCase(name: string): Promise<Case> {
  const pair: [string, string] = [`r_gate_${name}_a_${suffix}`, `r_gate_${name}_b_${suffix}`];
  const { initial } = await createUserPair(pair[0], pair[1], database);
  users.push(...pair);
  const secretName = `gate-maria-${name}`;
  const { ts, playbook } = await pushedSecret({
    clusters: Object.fromEntries(contexts.map((c) => [c, coreOf(c)])),
    namespace,
    secretName,
    initial,
    spec: {
      credential: { kind: 'mariadb-users', users: pair },
      canaries: [{ type: 'mariadb-login', name: 'login', query: `select count(*) from ${table}` }],
      timeouts: { gate: '20s' },
      consumerGate: { settle: '3s' },
    },
  });
  const probe = mariadbUsersProbe(pair);
  return { secretName, initial, ts, playbook, probe, before: await probe() };
}

describe('consumer gate holding a MariaDB rotation (real pods)', () => {
  let tw: TestWorker;
  let promoteCase: Case;
  let revokeCase: Case;

  beforeAll(async () => {
    await createTestDatabase(database);
    for (const c of contexts) await coreOf(c).createNamespace({ body: { metadata: { name: namespace } } });
    promoteCase = await setUpCase('promote');
    revokeCase = await setUpCase('revoke');
    const apps = kubeconfigFor('cluster-b').makeApiClient(AppsV1Api);
    // Loaded both keys at startup: never reads the new version beside the old one.
    await apps.createNamespacedDeployment({
      namespace,
      body: volumeConsumer('frozen', promoteCase.secretName, true, ['value', 'value-other']),
    });
    // Loaded its current key at startup, reads the other key live: passes the promote gate, not the revoke gate.
    await apps.createNamespacedDeployment({
      namespace,
      body: volumeConsumer('cached', revokeCase.secretName, true, ['value']),
    });
    await waitRunning(coreOf('cluster-b'), namespace, ['frozen', 'cached']);
    tw = await startTestWorker(createActivities(depsFromEnv()));
  }, 180_000);

  afterAll(async () => {
    await tw?.close();
    await Promise.all(contexts.map((c) => purgeNamespace(kubeconfigFor(c), namespace).catch(() => undefined)));
    await dropTestDatabase(database, users);
  }, 120_000);

  async function rotate(k: Case) {
    return tw.run(async () => {
      const h = await tw.client.workflow.start('rotationWorkflow', {
        taskQueue: tw.taskQueue,
        workflowId: rotationWorkflowId(k.playbook.spec.secret.name),
        args: [{ playbook: k.playbook, trigger: 'manual', requestedBy: 'test' }],
      });
      return { out: await outcomeOf(h), status: await h.query<RotationStatus>(statusQuery) };
    });
  }

  /** Rolled back by the gate: store, Secrets in every cluster and both MariaDB users as before. */
  async function expectRolledBack(k: Case, { out, status }: Awaited<ReturnType<typeof rotate>>, gate: string) {
    expect(out.ok).toBe(false);
    if (out.ok) return;
    const rolledBack = out.error.cause as ApplicationFailure;
    expect(rolledBack.type).toBe(WorkflowErrorTypes.rolledBack);
    expect((rolledBack.cause as ApplicationFailure).type).toBe(WorkflowErrorTypes.consumerGateFailed);
    expect((rolledBack.cause as ApplicationFailure).message).toMatch(
      new RegExp(`^${gate} gate failed in 1 of 3 cluster\\(s\\): cluster cluster-b: after \\d+s still waiting`),
    );
    expect(status.phase).toBe('rolled-back');
    expect(status.revocation).toBeUndefined();
    expect(status.compensation.filter((c) => !c.ok)).toEqual([]);
    const snap = await k.ts.snapshot();
    expect(snap.currentValue === k.initial).toBe(true);
    expect(snap.pendingVersion).toBeNull();
    for (const c of contexts) {
      const data = await secretData(kubeconfigFor(c), namespace, k.secretName);
      expect({ cluster: c, keys: Object.keys(data), old: data['value'] === k.initial }).toEqual({
        cluster: c,
        keys: ['value'],
        old: true,
      });
    }
    // The old user logs in, exactly as before; the other one, unlocked by create, is locked again.
    expect(await canLogInMariadb(k.initial, table)).toBe(true);
    const after = await k.probe();
    expect(after[0]).toEqual(k.before[0]);
    expect(after[1]).toMatchObject({ locked: true, grants: k.before[1]?.grants });
  }

  it('a consumer that never reads the new version holds the promote gate: rolled back, the new user locked again', async () => {
    const run = await rotate(promoteCase);
    expect(run.status.canaries[0]).toMatchObject({ ok: true });
    await expectRolledBack(promoteCase, run, 'promote');
  }, 300_000);

  it('a consumer still using the old version as current holds the revoke gate: the old user is never locked', async () => {
    const run = await rotate(revokeCase);
    expect(run.status.stages.find((s) => s.name === 'promote')?.state).toBe('done');
    expect(run.status.compensation.map((c) => c.step)).toContain('demote new version');
    await expectRolledBack(revokeCase, run, 'revoke');
  }, 300_000);
});
