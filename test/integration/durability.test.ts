import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { activityCounts, activityStarts, eventTypes, toHistoryJson } from '../helpers/history';
import type { HistoryJson } from '../helpers/history';
import { canaryGate } from '../helpers/canary-gate';
import { holdProxy } from '../helpers/hold-proxy';
import { kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore, vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import { waitForEvent, waitForPhaseOf as waitForPhase, waitForRunningActivity } from '../helpers/rotation-wait';
import type { RunningActivity } from '../helpers/rotation-wait';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';
import { timeline } from '../helpers/timeline';

const env = useStackEnv();

const stores: ['aws' | 'vault', (v: string) => Promise<TestStore>][] = [
  ['aws', awsTestStore],
  ['vault', vaultTestStore],
];

const forward = [
  'planRotation',
  'createPendingVersion',
  'runCanary',
  'promoteVersion',
  'revokeVersion',
  'finalizeRotation',
] as const;
const undos = ['discardPendingVersion', 'demoteVersion'] as const;

/** The request that writes the new version in each store, as the worker sends it. */
const newVersionWrite: Record<'aws' | 'vault', RegExp> = {
  aws: /x-amz-target: *secretsmanager\.PutSecretValue/i,
  vault: /^POST \/v1\/secret\/data\//m,
};

/** `p`, or a failure naming `what` did not happen within `ms`. */
async function within(p: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000}s`)), ms);
  });
  try {
    await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The history's word that the step killed mid-attempt was finished by a retry elsewhere: the attempt
 * that completed it is a later one, started by another worker, after the killed attempt timed out.
 */
function expectRetriedElsewhere(
  history: HistoryJson,
  type: string,
  killed: RunningActivity | undefined,
  noticedBy?: 'TIMEOUT_TYPE_HEARTBEAT',
): void {
  const [completing] = activityStarts(history, type).slice(-1);
  expect({ type, attempt: completing?.attempt, killedWorker: completing?.identity === killed?.identity }).toEqual({
    type,
    attempt: (killed?.attempt ?? 0) + 1,
    killedWorker: false,
  });
  expect(completing?.previousAttemptTimedOut).toBe(true);
  // Store steps, undos and finalize keep alive (activities/keep-alive.ts): the dead attempt is noticed
  // by its heartbeat timeout (seconds), not its start-to-close timeout.
  if (noticedBy) expect({ type, timeout: completing?.previousTimeout }).toEqual({ type, timeout: noticedBy });
}

// The three runs are independent (own task queue, worker process, proxy, store and namespace) and
// each kill is proven to land in its stage, so they run side by side: most of each is waiting.
describe.concurrent('durability', () => {
  /**
   * A real worker process is SIGKILLed mid-rotation and started again, several times. Temporal must
   * resume from history; the store must see one rotation: one new version, each step once in effect.
   */
  describe.each(stores)('durability on %s: the worker process is SIGKILLed mid-rotation', (kind, makeStore) => {
    let client: Client;
    let logDir: string;
    beforeAll(async () => {
      client = await connectClient();
      logDir = mkdtempSync(join(tmpdir(), 'rotor-durability-'));
    });
    afterAll(async () => {
      await client?.connection.close();
      if (logDir) rmSync(logDir, { recursive: true, force: true });
    });

    it('completes exactly once after kills during create, during canary, right after promote, and with the soak timer firing while no worker runs', async () => {
      const ts = await makeStore(`durable-initial-${randomUUID()}`);
      const before = await ts.snapshot();
      const taskQueue = `durability-${kind}-${randomUUID()}`;
      // The worker reaches the store through a proxy that can hold back the answer to one request.
      const storeProxy = await holdProxy((kind === 'aws' ? env['AWS_ENDPOINT_URL'] : env['VAULT_ADDR']) ?? '');
      const wp = await startWorkerProcess({
        taskQueue,
        logFile: join(logDir, `${kind}.log`),
        // The held answer stays held until the kill: with the default 15 s request bound the SDK
        // would give up on it and send the write again (through, this time), finishing attempt 1 on
        // a loaded machine before the kill landed. That case is request-timeout.test.ts's.
        env: {
          [kind === 'aws' ? 'AWS_ENDPOINT_URL' : 'VAULT_ADDR']: storeProxy.url,
          ROTOR_REQUEST_TIMEOUT_MS: '600000',
        },
      });
      // Slow canary: it runs until the test opens its gate, so the kill lands while it runs.
      const gate = canaryGate('slow');
      const { mark, text: timelineText } = timeline();
      const killed: Partial<Record<'create' | 'canary', RunningActivity>> = {};
      try {
        // Soak: a durable timer that must survive a dead worker.
        const playbook = testPlaybook(ts.store, { canaries: [gate.canary], soak: '5s' });
        const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'durability-test' };
        // Kill 1, during create, the hardest case: the store has written the new version and its
        // answer is held back, so the activity cannot have reported. A retry must not write another.
        const writeHeld = storeProxy.holdResponseTo(newVersionWrite[kind]);
        const h = await client.workflow.start('rotationWorkflow', {
          taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [input],
        });
        mark('started');
        await within(writeHeld, 60_000, 'the new version was never written');
        expect(await ts.versionCount()).toBe(2);
        const killAndRestart = async (at: 'create' | 'canary', type: string) => {
          // The server's word that the step runs on this worker, attempt 1, and has not completed.
          killed[at] = await waitForRunningActivity(h, type, wp.pid);
          await wp.kill();
          mark(`SIGKILL at ${at} (${type} attempt ${killed[at].attempt} running on ${killed[at].identity})`);
          if (at === 'create') storeProxy.release();
          else gate.open();
          await wp.restart();
          mark('worker restarted');
        };
        await killAndRestart('create', 'createPendingVersion');

        // Kill 2, during the gated canary (its heartbeat stops; the server times the attempt out and retries it).
        await waitForPhase(client, h, ['canary']);
        await killAndRestart('canary', 'runCanary');

        // Kill 3: right after promote (the soak timer, the run's only timer, was just started), and stay
        // down until it fires.
        await waitForEvent(h, 'EVENT_TYPE_TIMER_STARTED');
        await wp.kill();
        expect(eventTypes(toHistoryJson(await h.fetchHistory()))).not.toContain('EVENT_TYPE_TIMER_FIRED');
        mark('SIGKILL at soak (right after promote)');
        await waitForEvent(h, 'EVENT_TYPE_TIMER_FIRED');
        mark('soak timer fired with no worker running');
        await wp.restart();
        mark('worker restarted');

        const result = (await h.result()) as RotationResult;
        mark('completed');
        console.info(
          `durability ${kind}: activities ${JSON.stringify(activityCounts(toHistoryJson(await h.fetchHistory())))}`,
        );

        expect(result.outcome).toBe('rotated');
        expect(wp.starts).toBe(4);

        // The store saw exactly one rotation.
        const after = await ts.snapshot();
        expect(await ts.versionCount()).toBe(2);
        expect(after.currentVersion).toBe(result.current.version);
        expect(after.currentVersion).not.toBe(before.currentVersion);
        expect(after.previousVersion).toBe(before.currentVersion);
        expect(after.pendingVersion).toBeNull();
        expect(after.currentValue !== before.currentValue).toBe(true);
        expect(after.currentValue.length).toBe(32);

        // Each forward step scheduled and completed once; no undo ran. A killed attempt retried in place is fine.
        const history = toHistoryJson(await h.fetchHistory());
        const counts = activityCounts(history);
        for (const type of forward)
          expect({ type, scheduled: counts[type]?.scheduled, completed: counts[type]?.completed }).toEqual({
            type,
            scheduled: 1,
            completed: 1,
          });
        for (const type of undos) expect(counts[type]).toBeUndefined();
        expect(eventTypes(history).filter((t) => t === 'EVENT_TYPE_TIMER_STARTED')).toHaveLength(1);
        // The attempt running at each kill (attempt 1, on the killed worker) was abandoned, timed out,
        // and a later attempt on a restarted worker completed the step.
        expect(killed.create?.attempt).toBe(1);
        expect(killed.canary?.attempt).toBe(1);
        expectRetriedElsewhere(history, 'createPendingVersion', killed.create, 'TIMEOUT_TYPE_HEARTBEAT');
        expectRetriedElsewhere(history, 'runCanary', killed.canary);

        const stages = Object.fromEntries(result.status.stages.map((s) => [s.name, s.state]));
        expect(stages).toEqual({
          plan: 'done',
          create: 'done',
          distribute: 'skipped',
          verify: 'skipped',
          canary: 'done',
          'promote-gate': 'skipped',
          promote: 'done',
          soak: 'done',
          approval: 'skipped',
          'revoke-gate': 'skipped',
          revoke: 'done',
          finalize: 'done',
        });
        expect(result.status.compensation).toEqual([]);
      } finally {
        console.info(`durability ${kind}: ${timelineText()}`);
        await wp.stop();
        gate.dispose();
        await storeProxy.close();
      }
    });
  });

  /**
   * The worker SIGKILLed during compensation (a failed canary rolls back a cluster and the store) and
   * during finalize: each run must end as its history says — rolled back to exactly the old state, or
   * rotated — with the cluster's Secret to match.
   */
  describe('durability: the worker process is SIGKILLed during compensation and during finalize', () => {
    const context = 'cluster-c';
    const kc = kubeconfigFor(context);
    let client: Client;
    let logDir: string;
    let namespace: string;
    beforeAll(async () => {
      client = await connectClient();
      logDir = mkdtempSync(join(tmpdir(), 'rotor-durability-undo-'));
      namespace = `durable-${randomUUID().slice(0, 8)}`;
      await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    });
    afterAll(async () => {
      await client?.connection.close();
      await purgeNamespace(kc, namespace).catch(() => undefined);
      if (logDir) rmSync(logDir, { recursive: true, force: true });
    });

    it('a rollback resumes its undos on a new worker; a run killed at finalize ends rotated', async () => {
      const taskQueue = `durability-undo-${randomUUID()}`;
      // The worker reaches Vault through a proxy that can hold back the answer to one request.
      const vaultProxy = await holdProxy(env['VAULT_ADDR'] ?? '');
      const wp = await startWorkerProcess({
        taskQueue,
        logFile: join(logDir, 'worker.log'),
        env: { VAULT_ADDR: vaultProxy.url },
      });
      const start = async (ts: TestStore, secretName: string, canary: string) => {
        const playbook = testPlaybook(ts.store, {
          clusters: [{ name: context, delivery: 'push', namespace, secretName, workloads: [] }],
          canaries: [{ type: 'command', name: 'check', command: ['sh', '-c', `cat >/dev/null; ${canary}`] }],
        });
        const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'durability-test' };
        return client.workflow.start('rotationWorkflow', {
          taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [input],
        });
      };
      const { mark, text: timelineText } = timeline();
      /** Kills the worker while `type` runs on it (the server says so), lets the held answer go, starts a new worker. */
      const killDuring = async (h: WorkflowHandle, type: string, stage: string): Promise<RunningActivity> => {
        const running = await waitForRunningActivity(h, type, wp.pid);
        await wp.kill();
        mark(`killed during ${stage} (${type} attempt ${running.attempt} running on ${running.identity})`);
        vaultProxy.release();
        await wp.restart();
        mark('worker restarted');
        return running;
      };
      try {
        // 1. The canary fails after the cluster serves both versions. Compensation restores the cluster,
        // then the store undo destroys this run's version; the worker dies with Vault's answer held.
        const undone = await vaultTestStore(`durable-undo-${randomUUID()}`);
        const before = await undone.snapshot();
        const destroyHeld = vaultProxy.holdResponseTo(/^POST \/v1\/secret\/destroy\//m);
        const rollback = await start(undone, 'app-undo', 'exit 1');
        await within(destroyHeld, 90_000, 'compensation never destroyed the pending version');
        const killedUndo = await killDuring(rollback, 'discardPendingVersion', 'compensation');
        const failure = await rollback.result().then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(String((failure?.cause as { type?: string } | undefined)?.type ?? failure)).toContain(
          'RotationRolledBack',
        );
        const restored = await undone.snapshot();
        expect(restored.currentVersion).toBe(before.currentVersion);
        expect(restored.currentValue === before.currentValue).toBe(true);
        expect(restored.pendingVersion).toBeNull();
        const undoneData = await secretData(kc, namespace, 'app-undo');
        expect({ keys: Object.keys(undoneData), isOld: undoneData['value'] === before.currentValue }).toEqual({
          keys: ['value'],
          isOld: true,
        });
        mark('rolled back');
        const undoHistory = toHistoryJson(await rollback.fetchHistory());
        expect(activityCounts(undoHistory)['discardPendingVersion']?.completed).toBe(1);
        expect(killedUndo.attempt).toBe(1);
        expectRetriedElsewhere(undoHistory, 'discardPendingVersion', killedUndo, 'TIMEOUT_TYPE_HEARTBEAT');

        // 2. A run killed during finalize (the store's bookkeeping step: Vault has recorded the outcome,
        // its answer is held) completes rotated.
        const rotated = await vaultTestStore(`durable-final-${randomUUID()}`);
        const was = await rotated.snapshot();
        const finalizeHeld = vaultProxy.holdResponseTo(/"rotor-last-rotation"/);
        const forwardRun = await start(rotated, 'app-final', 'true');
        await within(finalizeHeld, 90_000, 'finalize never wrote to the store');
        const killedFinalize = await killDuring(forwardRun, 'finalizeRotation', 'finalize');
        const result = (await forwardRun.result()) as RotationResult;
        expect(result.outcome).toBe('rotated');
        const after = await rotated.snapshot();
        expect(after.currentVersion).toBe(result.current.version);
        expect(after.previousVersion).toBe(was.currentVersion);
        expect(after.pendingVersion).toBeNull();
        expect(await rotated.versionCount()).toBe(2);
        const data = await secretData(kc, namespace, 'app-final');
        expect({ keys: Object.keys(data), isNew: data['value'] === after.currentValue }).toEqual({
          keys: ['value'],
          isNew: true,
        });
        const finalHistory = toHistoryJson(await forwardRun.fetchHistory());
        expect(activityCounts(finalHistory)['finalizeRotation']?.completed).toBe(1);
        expect(killedFinalize.attempt).toBe(1);
        expectRetriedElsewhere(finalHistory, 'finalizeRotation', killedFinalize, 'TIMEOUT_TYPE_HEARTBEAT');
        expect(wp.starts).toBe(3);
      } finally {
        console.info(`durability (undo/finalize): ${timelineText()}`);
        await wp.stop();
        await vaultProxy.close();
      }
      // Three worker starts (each bundles the workflows); each killed attempt is retried after its
      // heartbeat timeout (10 s), but a loaded 2-core machine stretches every step.
    }, 540_000);
  });
});
