import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { activityCounts, eventTypes, toHistoryJson } from '../helpers/history';
import { kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore, vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import { waitForEvent, waitForPhaseOf as waitForPhase } from '../helpers/rotation-wait';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';

useStackEnv();

const stores: [string, (v: string) => Promise<TestStore>][] = [
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
    const wp = await startWorkerProcess({ taskQueue, logFile: join(logDir, `${kind}.log`) });
    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
    try {
      const playbook = testPlaybook(ts.store, {
        // Slow canary: the kill lands while it runs. Soak: a durable timer that must survive a dead worker.
        canaries: [{ type: 'command', name: 'slow', command: ['sh', '-c', 'cat >/dev/null; sleep 3'] }],
        soak: '5s',
      });
      const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'durability-test' };
      const h = await client.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [input],
      });
      mark('started');

      // Kill 1, during create: from the first phase seen, the worker runs in 5ms slices and the store is
      // checked while it is frozen; the kill lands right after the new version is written — the hardest
      // case, when the activity has (almost always) not reported yet. A retry must not write another.
      const inFlightAtKill: Partial<Record<'create' | 'canary', boolean>> = {};
      const killAndRestart = async (at: 'create' | 'canary') => {
        await wp.kill();
        const type = at === 'create' ? 'createPendingVersion' : 'runCanary';
        // Read after the process is gone: a step not completed now can only complete by a retry on another worker.
        inFlightAtKill[at] = (activityCounts(toHistoryJson(await h.fetchHistory()))[type]?.completed ?? 0) === 0;
        const written =
          at === 'create' ? `, new version ${(await ts.versionCount()) > 1 ? 'already' : 'not yet'} written` : '';
        mark(`SIGKILL at ${at} (${type} ${inFlightAtKill[at] ? 'in flight' : 'already completed'}${written})`);
        await wp.restart();
        mark('worker restarted');
      };
      const first = await waitForPhase(client, h, ['plan', 'create', 'canary']);
      if (first !== 'canary') {
        wp.freeze();
        const until = Date.now() + 15_000;
        while ((await ts.versionCount()) < 2 && Date.now() < until) {
          wp.thaw();
          await new Promise((r) => setTimeout(r, 5));
          wp.freeze();
        }
        await killAndRestart('create');
      }

      // Kill 2, during the slow canary (its heartbeat stops; the server times the attempt out and retries it).
      await waitForPhase(client, h, ['canary']);
      await killAndRestart('canary');

      // Kill 3: right after promote (the soak timer was just started), and stay down until it fires.
      await waitForPhase(client, h, ['soak']);
      await wp.kill();
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
      expect(wp.starts).toBe(Object.keys(inFlightAtKill).length + 2);
      expect(inFlightAtKill.canary).toBe(true);

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
      // An attempt that was running at a kill was abandoned and completed by a retry on the new worker.
      if (inFlightAtKill.create) expect(counts['createPendingVersion']?.maxAttempt).toBeGreaterThanOrEqual(2);
      if (inFlightAtKill.canary) expect(counts['runCanary']?.maxAttempt).toBeGreaterThanOrEqual(2);

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
      console.info(`durability ${kind}: ${timeline.join(' → ')}`);
      await wp.stop();
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
    const wp = await startWorkerProcess({ taskQueue, logFile: join(logDir, 'worker.log') });
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
    const inFlight = async (h: WorkflowHandle, types: string[]) => {
      const counts = activityCounts(toHistoryJson(await h.fetchHistory()));
      return types.filter((t) => (counts[t]?.scheduled ?? 0) > (counts[t]?.completed ?? 0));
    };
    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
    try {
      // 1. The canary fails after the cluster serves both versions. Once compensation starts, the worker
      // runs in short slices until the store undo (after the cluster's restore) is scheduled, then dies.
      const undone = await vaultTestStore(`durable-undo-${randomUUID()}`);
      const before = await undone.snapshot();
      const rollback = await start(undone, 'app-undo', 'exit 1');
      await waitForPhase(client, rollback, ['compensating']);
      wp.freeze();
      const until = Date.now() + 30_000;
      while (!(await inFlight(rollback, ['discardPendingVersion'])).length && Date.now() < until) {
        wp.thaw();
        await new Promise((r) => setTimeout(r, 20));
        wp.freeze();
      }
      await wp.kill();
      mark(`killed while compensating (in flight: ${(await inFlight(rollback, [...undos])).join(', ') || 'none'})`);
      await wp.restart();
      mark('worker restarted');
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
      const undoCounts = activityCounts(toHistoryJson(await rollback.fetchHistory()));
      expect(undoCounts['discardPendingVersion']?.completed).toBe(1);

      // 2. A run killed once it reaches finalize (the store's bookkeeping step) completes rotated.
      const rotated = await vaultTestStore(`durable-final-${randomUUID()}`);
      const was = await rotated.snapshot();
      const forwardRun = await start(rotated, 'app-final', 'true');
      await waitForPhase(client, forwardRun, ['finalize']);
      await wp.kill();
      mark(
        `killed at finalize (in flight: ${(await inFlight(forwardRun, ['finalizeRotation'])).join(', ') || 'none recorded'})`,
      );
      await wp.restart();
      mark('worker restarted');
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
      expect(activityCounts(toHistoryJson(await forwardRun.fetchHistory()))['finalizeRotation']?.completed).toBe(1);
      expect(wp.starts).toBe(3);
    } finally {
      console.info(`durability (undo/finalize): ${timeline.join(' → ')}`);
      await wp.stop();
    }
    // Three worker starts (each bundles the workflows): minutes on a loaded 2-core machine.
  }, 420_000);
});
