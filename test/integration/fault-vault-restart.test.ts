/**
 * Fault injection: a private Vault with the stack's persistent configuration (file storage,
 * unsealed on start) is SIGKILLed mid-rotation and started again on the same data. The rotation must
 * complete once, and the KV entry must hold exactly the rotation's versions.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import vaultClient from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { devCredentials } from '../../dev/local-stack/config';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';
import { canaryGate } from '../helpers/canary-gate';
import { testPlaybook } from '../helpers/playbooks';
import { privateVault } from '../helpers/private-service';
import type { PrivateService } from '../helpers/private-service';
import { eachForwardStepOnce, forwardCompletions, waitForPhaseOf } from '../helpers/rotation-wait';
import { useStackEnv } from '../helpers/stack-env';
import { rotatedOnce, vaultTestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

useStackEnv();

describe('Vault SIGKILLed and restarted mid-rotation (persistent storage)', () => {
  let dir: string;
  let vault: PrivateService;
  let wp: WorkerProcess | undefined;
  let client: Client | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-fault-vault-'));
    vault = await privateVault(dir);
    await vault.start();
    // A fresh server has no KV mount; the stack's `start` mounts it the same way.
    await vaultClient({ endpoint: vault.address, token: devCredentials.vaultToken }).mount({
      mount_point: 'secret',
      type: 'kv',
      options: { version: '2' },
    });
  });
  afterAll(async () => {
    await wp?.stop();
    await client?.connection.close();
    await vault?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its data across the restart, and the rotation completes once', async () => {
    const taskQueue = `fault-vault-${randomBytes(4).toString('hex')}`;
    wp = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log'), env: { VAULT_ADDR: vault.address } });
    client = await connectClient();
    const ts = await vaultTestStore(`fault-vault-${randomBytes(8).toString('hex')}`, vault.address);
    const before = await ts.snapshot();
    // The canary runs until Vault is killed: the kill lands in the canary stage by construction.
    const gate = canaryGate('slow');
    const playbook = testPlaybook(ts.store, { canaries: [gate.canary] });
    const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'fault-test' };
    const h = await client.workflow.start('rotationWorkflow', {
      taskQueue,
      workflowId: rotationWorkflowId(playbook.spec.secret.name),
      args: [input],
    });
    await waitForPhaseOf(client, h, ['canary']);
    await gate.running();
    const pendingBefore = (await ts.snapshot()).pendingVersion;
    await vault.kill();
    gate.open();
    // Down for a few seconds, then back on the same data: sealed until the stack's unseal runs.
    await new Promise((r) => setTimeout(r, 3_000));
    await vault.start();
    // What was written before the kill survived it.
    expect((await ts.snapshot()).pendingVersion).toBe(pendingBefore);
    const result = (await h.result()) as RotationResult;
    expect(result.outcome).toBe('rotated');
    const { state, expected } = await rotatedOnce(ts, before, result.current.version);
    expect(state).toEqual(expected);
    expect(await forwardCompletions(h)).toEqual(eachForwardStepOnce);
    gate.dispose();
  });
});
