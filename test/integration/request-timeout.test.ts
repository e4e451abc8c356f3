import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';
import { rotorCodec } from '../../adapters/temporal/data-converter';
import { activityStarts, decodePayload, mapPayloads, toHistoryJson } from '../helpers/history';
import { holdProxy } from '../helpers/hold-proxy';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';

/**
 * A Vault that takes a request and never answers it: the worker's request bound
 * (ROTOR_REQUEST_TIMEOUT_MS) must end the attempt so Temporal tries the step again, instead of the
 * attempt holding its whole stage (a stuck plan failed 10 rotations of a 1,000-secret incident).
 */
describe('a backend answer that never comes', () => {
  const env = useStackEnv();
  let client: Client;
  let logDir: string;
  beforeAll(async () => {
    client = await connectClient();
    logDir = mkdtempSync(join(tmpdir(), 'rotor-request-timeout-'));
  });
  afterAll(async () => {
    await client?.connection.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('ends the attempt after the bound; the retry finds the version already written and the rotation completes with one new version', async () => {
    const taskQueue = `request-timeout-${randomUUID()}`;
    const vaultProxy = await holdProxy(env['VAULT_ADDR'] ?? '');
    const wp = await startWorkerProcess({
      taskQueue,
      logFile: join(logDir, 'worker.log'),
      env: { VAULT_ADDR: vaultProxy.url, ROTOR_REQUEST_TIMEOUT_MS: '2000' },
    });
    try {
      const ts = await vaultTestStore(`request-timeout-${randomUUID()}`);
      const before = await ts.snapshot();
      const versionsBefore = await ts.versionCount();
      // Vault writes the new version; its answer never reaches the worker.
      const held = vaultProxy.holdResponseTo(/^POST \/v1\/secret\/data\//m);
      const playbook = testPlaybook(ts.store);
      const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'request-timeout-test' };
      const handle = await client.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [input],
      });
      await held;
      const result = (await handle.result()) as RotationResult;
      expect(result.outcome).toBe('rotated');

      const codec = rotorCodec();
      const history = await mapPayloads(toHistoryJson(await handle.fetchHistory()), (p) => decodePayload(codec, p));
      const creates = activityStarts(history, 'createPendingVersion');
      // One retry, after a failure that names the bound (not an activity timeout).
      expect(creates.map((c) => ({ attempt: c.attempt, timedOut: c.previousAttemptTimedOut }))).toEqual([
        { attempt: 2, timedOut: false },
      ]);
      expect(creates[0]?.previousFailure).toBe(
        `vault secret/${ts.store.type === 'vault' ? ts.store.path : ''}: failed to write the new version: no answer from Vault at ${vaultProxy.url} within 2 s (ROTOR_REQUEST_TIMEOUT_MS); it is tried again`,
      );
      // Exactly one new version: the retry found the one the unanswered write made.
      const after = await ts.snapshot();
      expect({ versions: await ts.versionCount(), changed: after.currentVersion !== before.currentVersion }).toEqual({
        versions: versionsBefore + 1,
        changed: true,
      });
    } finally {
      vaultProxy.release();
      await wp.stop();
      await vaultProxy.close();
    }
  });
});
