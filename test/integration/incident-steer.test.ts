/**
 * `rotor incident status|pause|resume|abort` against a running incident on the real stack: two
 * Vault secrets whose emergency rotations wait at their approval gates (not compromised), one at a
 * time. Pause is shown by status; abort cancels the running rotation, which rolls back, and the
 * one not started is reported so; the stores are as before.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { incidentWorkflowId, rotationWorkflowId } from '../../core/ids';
import type { IncidentReport } from '../../core/incident/types';
import { runRotor } from '../helpers/cli';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import { waitForPhase } from '../helpers/worker';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

const taskQueue = `incident-steer-${randomUUID()}`;
const env = { ...process.env, ...useStackEnv(), ROTOR_TASK_QUEUE: taskQueue };
process.env['ROTOR_TASK_QUEUE'] = taskQueue;
const dir = mkdtempSync(join(tmpdir(), 'rotor-incident-steer-'));

describe('rotor incident status|pause|resume|abort', () => {
  let worker: WorkerProcess;
  beforeAll(async () => {
    worker = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log') });
  });
  afterAll(async () => {
    await worker.stop();
  });

  it('pauses, shows, resumes and aborts a running incident; the running rotation rolls back', async () => {
    const stores = await Promise.all([0, 1].map((i) => vaultTestStore(`incident-steer-${i}-${randomUUID()}`)));
    const before = await Promise.all(stores.map((s) => s.snapshot()));
    const playbooks = stores.map((s) => testPlaybook(s.store, { approval: { beforeRevoke: true } }));
    for (const p of playbooks) writeFileSync(join(dir, `${p.metadata.name}.yaml`), stringify(p));
    // The incident starts them in file order (file names are the secret names).
    const [first, second] = playbooks.map((p) => p.spec.secret.name).sort();
    const id = `steer-${randomUUID().slice(0, 8)}`;
    const started = await runRotor(
      env,
      'incident',
      'start',
      dir,
      '--reason',
      'steer test',
      '--concurrency',
      '1',
      '--id',
      id,
    );
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });

    const client = await connectClient();
    try {
      const child = client.workflow.getHandle(rotationWorkflowId(first ?? ''));
      // The incident starts it within a workflow task or two of its own start.
      for (let i = 0; i < 100 && !(await child.describe().catch(() => undefined)); i++)
        await new Promise((r) => setTimeout(r, 100));
      await waitForPhase(child, 'approval');
      const paused = await runRotor(env, 'incident', 'pause', id, '--by', 'oncall@example', '--reason', 'look first');
      expect(paused.stdout).toContain(`incident pause incident/${id}: paused: no new rotation starts`);
      const shown = await runRotor(env, 'incident', 'status', id);
      expect(shown.stdout).toContain(`incident incident/${id}: PAUSED — 1 pending, 1 running of 2`);
      const resumed = await runRotor(env, 'incident', 'resume', id, '--by', 'oncall@example');
      expect(resumed.stdout).toContain('resumed');
      const aborted = await runRotor(env, 'incident', 'abort', id, '--by', 'oncall@example', '--reason', 'wrong keys');
      expect({ code: aborted.code, stderr: aborted.stderr }).toEqual({ code: 0, stderr: '' });
      expect(aborted.stdout).toContain('aborting: 1 running rotation(s) cancelled');
      const report = (await client.workflow.getHandle(incidentWorkflowId(id)).result()) as IncidentReport;
      expect(report).toMatchObject({
        outcome: 'aborted',
        aborted: { by: 'oncall@example', reason: 'wrong keys' },
        rolledBack: [{ secret: first }],
        notStarted: [second],
      });
      const again = await runRotor(env, 'incident', 'abort', id, '--reason', 'twice');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`rejected: incident incident/${id} has ended (COMPLETED)`);
      const missing = await runRotor(env, 'incident', 'status', `no-such-${id}`);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`no incident incident/no-such-${id}`);
    } finally {
      await client.connection.close();
    }
    for (const [i, s] of stores.entries()) {
      const after = await s.snapshot();
      expect({ current: after.currentVersion, pending: after.pendingVersion }).toEqual({
        current: before[i]?.currentVersion,
        pending: null,
      });
    }
  });
});
