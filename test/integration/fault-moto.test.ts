/**
 * Fault injection: Secrets Manager (a private moto) unreachable past a stage timeout. The worker
 * reaches moto through a TCP proxy that the test cuts (open connections reset, new ones refused):
 * before the point of no return the run must roll back to exactly the old state once moto is back;
 * after it, the run must alert (needs-attention) and finish forward once moto is back.
 * And moto restarted: it keeps its state in memory, so a restart loses every secret. That is data
 * loss, not an outage: the run must name the missing secret — compensation failed before the point
 * of no return, needs-attention after it (finished by rotor retry once the secret is restored).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Client } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { WorkflowErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { PlaybookInput } from '../../core/playbook/schema';
import type { RotationInput, RotationResult } from '../../core/status';
import { testPlaybook } from '../helpers/playbooks';
import { cutProxy, privateMoto } from '../helpers/private-service';
import type { CutProxy, PrivateService } from '../helpers/private-service';
import { statusOf, waitForPhaseOf } from '../helpers/rotation-wait';
import { retrySignal } from '../../workflows/definitions';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { canaryGate } from '../helpers/canary-gate';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';
import { timeline } from '../helpers/timeline';

useStackEnv();

describe('moto unreachable past a stage timeout, or restarted', () => {
  let dir: string;
  let moto: PrivateService;
  let proxy: CutProxy;
  let wp: WorkerProcess;
  let client: Client;
  const { mark, text: timelineText } = timeline();

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
    console.info(`moto unreachable: ${timelineText()}`);
    await wp?.stop();
    await client?.connection.close();
    await proxy?.close();
    await moto?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const gates: ReturnType<typeof canaryGate>[] = [];
  afterAll(() => gates.forEach((g) => g.dispose()));
  /**
   * A rotation of `ts` whose canary runs until `gate` opens (a fault injected during the canary lands
   * there by construction); without a gate, the canary passes at once.
   */
  const start = (ts: TestStore, spec: Partial<PlaybookInput['spec']>, gate?: ReturnType<typeof canaryGate>) => {
    const g = gate ?? canaryGate('quick');
    gates.push(g);
    if (!gate) g.open();
    const playbook = testPlaybook(ts.store, { canaries: [g.canary], ...spec });
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
    const gate = canaryGate('slow');
    const h = await start(ts, { timeouts: { promote: '6s' } }, gate);
    await waitForPhaseOf(client, h, ['canary']);
    await gate.running();
    await proxy.cut();
    mark('moto cut during the canary (promote next)');
    gate.open();
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

  // moto keeps everything in memory: a restart is data loss, not an outage. The honest end state
  // is a run that names the missing secret, never one that claims a rollback or a rotation.
  const restartMoto = async () => {
    await moto.kill();
    await moto.start();
  };
  const missing = /aws secret rotor-test\/\S+: not found while trying to .*the store lost its data/;

  it('restarted during the canary: compensation fails naming the missing secret; nothing claims a rollback', async () => {
    const ts = await awsTestStore(`fault-moto-x-${randomBytes(8).toString('hex')}`, moto.address);
    const gate = canaryGate('slow');
    const h = await start(ts, {}, gate);
    await waitForPhaseOf(client, h, ['canary']);
    await gate.running();
    await restartMoto();
    mark('moto restarted during the canary (state lost)');
    gate.open();
    const failure = await h.result().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    mark('compensation failed');
    const cause = failure?.cause as ApplicationFailure | undefined;
    expect(cause?.type).toBe(WorkflowErrorTypes.compensationFailed);
    // Which undos ran depends on whether the canary had read the new version before moto lost it
    // (then promote fails, and 'demote new version' fails too); discarding the new version always fails.
    expect(cause?.message).toMatch(/could not be fully rolled back — undo '/);
    expect(cause?.message).toMatch(/undo 'discard pending version' failed: /);
    expect(cause?.message).toMatch(missing);
    expect(cause?.message).toMatch(/Manual repair needed\.$/);
    expect((await statusOf(client, h))?.phase).toBe('compensation-failed');
    // The store really has nothing left to roll back to.
    await expect(ts.snapshot()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('restarted during soak: needs-attention naming the missing secret; restored from a backup, rotor retry finishes it', async () => {
    const ts = await awsTestStore(`fault-moto-y-${randomBytes(8).toString('hex')}`, moto.address);
    const before = await ts.snapshot();
    const h = await start(ts, { soak: '4s', timeouts: { revoke: '5s' }, needsAttention: { retryEvery: '1h' } });
    await waitForPhaseOf(client, h, ['soak']);
    // What an operator's backup would hold: both versions, with their ids.
    const promoted = await ts.snapshot();
    expect(promoted.previousVersion).toBe(before.currentVersion);
    await restartMoto();
    mark('moto restarted during soak (state lost)');
    await waitForPhaseOf(client, h, ['needs-attention'], 60_000);
    mark('needs-attention');
    const stuck = await statusOf(client, h);
    expect(stuck?.pointOfNoReturn).toBe(true);
    expect(stuck?.attention).toMatch(/^revoke keeps failing: /);
    expect(stuck?.attention).toMatch(missing);
    expect((await h.describe()).status.name).toBe('RUNNING');

    // Restore from the backup with the same version ids, then ask the run to try again.
    const sm = new SecretsManagerClient({ endpoint: moto.address });
    const secretId = 'secretId' in ts.store ? ts.store.secretId : '';
    await sm.send(
      new CreateSecretCommand({
        Name: secretId,
        SecretString: before.currentValue,
        ClientRequestToken: before.currentVersion,
      }),
    );
    await sm.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        SecretString: promoted.currentValue,
        ClientRequestToken: promoted.currentVersion,
        VersionStages: ['AWSCURRENT'],
      }),
    );
    mark('secret restored from backup');
    await h.signal(retrySignal, { by: 'oncall' });
    const result = (await h.result()) as RotationResult;
    mark('rotated');
    expect(result.outcome).toBe('rotated');
    const after = await ts.snapshot();
    expect(after.currentVersion).toBe(promoted.currentVersion);
    expect(after.previousVersion).toBe(before.currentVersion);
    expect(after.pendingVersion).toBeNull();
  });
});
