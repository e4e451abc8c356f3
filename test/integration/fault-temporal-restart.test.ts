/**
 * Fault injection: a private Temporal dev server (own ports, own SQLite file) is SIGKILLed twice
 * mid-rotation — while the canary activity runs and while the soak timer runs — and started again
 * on the same file. The rotation must complete exactly once: the store rotated once, the cluster's
 * Secret holding only the new value, each forward step completed once.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';
import { kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import { canaryGate } from '../helpers/canary-gate';
import { testPlaybook } from '../helpers/playbooks';
import { privateTemporal } from '../helpers/private-service';
import type { PrivateService } from '../helpers/private-service';
import { eachForwardStepOnce, forwardCompletions, waitForPhaseOf } from '../helpers/rotation-wait';
import { useStackEnv } from '../helpers/stack-env';
import { rotatedOnce, vaultTestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';
import { timeline } from '../helpers/timeline';

useStackEnv();
const context = 'cluster-c';
const secretName = 'app-key';

describe('the Temporal server SIGKILLed and restarted mid-rotation (its SQLite kept)', () => {
  let dir: string;
  let temporal: PrivateService;
  let wp: WorkerProcess | undefined;
  let client: Client | undefined;
  let namespace: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-fault-temporal-'));
    temporal = await privateTemporal(dir);
    await temporal.start();
    namespace = `fault-tmp-${randomBytes(4).toString('hex')}`;
    await kubeconfigFor(context)
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterAll(async () => {
    await wp?.stop();
    await client?.connection.close();
    await temporal?.kill();
    await purgeNamespace(kubeconfigFor(context), namespace).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('completes exactly once after kills during the canary and during soak', async () => {
    const env = { TEMPORAL_ADDRESS: temporal.address };
    const taskQueue = `fault-temporal-${randomBytes(4).toString('hex')}`;
    wp = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log'), env });
    client = await connectClient({ ...process.env, ...env });
    const ts = await vaultTestStore(`fault-temporal-${randomBytes(8).toString('hex')}`);
    const before = await ts.snapshot();
    // The canary runs until Temporal is killed: the kill lands in the canary stage by construction.
    const gate = canaryGate('slow');
    const playbook = testPlaybook(ts.store, {
      clusters: [{ name: context, delivery: 'push', namespace, secretName, workloads: [] }],
      canaries: [gate.canary],
      soak: '6s',
    });
    const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'fault-test' };
    const h = await client.workflow.start('rotationWorkflow', {
      taskQueue,
      workflowId: rotationWorkflowId(playbook.spec.secret.name),
      args: [input],
    });
    const { mark, text: timelineText } = timeline();
    const bounce = async (at: string) => {
      await temporal.kill();
      mark(`Temporal SIGKILLed at ${at}`);
      // The canary finishes while the server is down (a no-op at soak).
      gate.open();
      // Down for a few seconds: the worker's polls and the running activity's heartbeats fail meanwhile.
      await new Promise((r) => setTimeout(r, 3_000));
      await temporal.start();
      mark('Temporal restarted on the same SQLite file');
    };
    try {
      await waitForPhaseOf(client, h, ['canary']);
      await gate.running();
      await bounce('canary');
      await waitForPhaseOf(client, h, ['soak']);
      await bounce('soak');
      const result = (await h.result()) as RotationResult;
      mark('completed');
      expect(result.outcome).toBe('rotated');
      // The worker rode out both outages: one process, never restarted.
      expect(wp.starts).toBe(1);
      expect(wp.pid).toBeDefined();

      const { state, expected, after } = await rotatedOnce(ts, before, result.current.version);
      expect(state).toEqual(expected);
      const data = await secretData(kubeconfigFor(context), namespace, secretName);
      expect({ keys: Object.keys(data), isNew: data['value'] === after.currentValue }).toEqual({
        keys: ['value'],
        isNew: true,
      });
      expect(await forwardCompletions(h)).toEqual(eachForwardStepOnce);
    } finally {
      console.info(`temporal restart: ${timelineText()}`);
      gate.dispose();
    }
  });
});
