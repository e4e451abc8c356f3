/**
 * Fault injection: Secrets Manager (a private moto) unreachable past a stage timeout. The worker
 * reaches moto through a TCP proxy that the test cuts (open connections reset, new ones refused):
 * before the point of no return the run must roll back to exactly the old state once moto is back;
 * after it, the run must alert (needs-attention) and finish forward once moto is back.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { PlaybookInput } from '../../core/playbook/schema';
import type { RotationInput, RotationResult } from '../../core/status';
import { testPlaybook } from '../helpers/playbooks';
import { cutProxy, privateMoto } from '../helpers/private-service';
import type { CutProxy, PrivateService } from '../helpers/private-service';
import { statusOf, waitForPhaseOf } from '../helpers/rotation-wait';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

useStackEnv();

describe('moto unreachable past a stage timeout', () => {
  let dir: string;
  let moto: PrivateService;
  let proxy: CutProxy;
  let wp: WorkerProcess;
  let client: Client;
  const timeline: string[] = [];
  const t0 = Date.now();
  const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-fault-moto-'));
    moto = await privateMoto(dir);
    await moto.start();
    proxy = await cutProxy({ host: '127.0.0.1', port: Number(new URL(moto.address).port) });
    wp = await startWorkerProcess({
      taskQueue: `fault-moto-${randomBytes(4).toString('hex')}`,
      logFile: join(dir, 'worker.log'),
      env: { AWS_ENDPOINT_URL: proxy.url },
    });
    client = await connectClient();
  });
  afterAll(async () => {
    console.info(`moto unreachable: ${timeline.join(' → ')}`);
    await wp?.stop();
    await client?.connection.close();
    await proxy?.close();
    await moto?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = (ts: TestStore, spec: Partial<PlaybookInput['spec']>) => {
    const playbook = testPlaybook(ts.store, {
      canaries: [{ type: 'command', name: 'slow', command: ['sh', '-c', 'cat >/dev/null; sleep 2'] }],
      ...spec,
    });
    const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'fault-test' };
    return client.workflow.start('rotationWorkflow', {
      taskQueue: wp.taskQueue,
      workflowId: rotationWorkflowId(playbook.spec.secret.name),
      args: [input],
    });
  };

  it('during promote: the stage times out, undos retry until moto is back, and the store is exactly as before', async () => {
    const ts = await awsTestStore(`fault-moto-a-${randomBytes(8).toString('hex')}`, moto.address);
    const before = await ts.snapshot();
    const h = await start(ts, { timeouts: { promote: '6s' } });
    await waitForPhaseOf(client, h, ['canary']);
    await proxy.cut();
    mark('moto cut during the canary (promote next)');
    await waitForPhaseOf(client, h, ['compensating'], 60_000);
    mark('promote timed out: compensating');
    // Undos keep failing while moto is away; the run waits for them rather than giving up.
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await statusOf(client, h))?.phase).toBe('compensating');
    await proxy.restore();
    mark('moto reachable again');
    const failure = await h.result().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    mark('rolled back');
    expect((failure?.cause as { type?: string } | undefined)?.type).toBe('RotationRolledBack');
    const after = await ts.snapshot();
    expect(after.currentVersion).toBe(before.currentVersion);
    expect(after.currentValue === before.currentValue).toBe(true);
    expect(after.pendingVersion).toBeNull();
    expect(after.previousVersion).toBe(before.previousVersion);
  });

  it('during revoke: the run alerts needs-attention, and finishes rotated once moto is back', async () => {
    const ts = await awsTestStore(`fault-moto-r-${randomBytes(8).toString('hex')}`, moto.address);
    const before = await ts.snapshot();
    const h = await start(ts, { soak: '3s', timeouts: { revoke: '5s' }, needsAttention: { retryEvery: '3s' } });
    await waitForPhaseOf(client, h, ['soak']);
    await proxy.cut();
    mark('moto cut during soak (revoke next)');
    await waitForPhaseOf(client, h, ['needs-attention'], 60_000);
    mark('needs-attention');
    await proxy.restore();
    mark('moto reachable again');
    const result = (await h.result()) as RotationResult;
    mark('rotated');
    expect(result.outcome).toBe('rotated');
    const after = await ts.snapshot();
    expect(after.currentVersion).toBe(result.current.version);
    expect(after.currentVersion).not.toBe(before.currentVersion);
    expect(after.previousVersion).toBe(before.currentVersion);
    expect(after.pendingVersion).toBeNull();
    expect(await ts.versionCount()).toBe(2);
  });
});
