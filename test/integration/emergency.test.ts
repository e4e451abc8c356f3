/**
 * Emergency rotation through the real CLI: `rotor rotate --emergency` supersedes a running
 * scheduled rotation (abort with compensation first), then rotates at once, skipping soak and —
 * with --compromised — the approval gate. The reason and who asked are recorded.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotorCodec } from '../../adapters/temporal/data-converter';
import { statusQuery } from '../../workflows/definitions';
import { recordHistory } from '../helpers/history-recorder';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { runRotorWithin } from '../helpers/cli';
import type { CliRun } from '../helpers/cli';
import { awsTestStore } from '../helpers/stores';
import { waitForPhase } from '../helpers/worker';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput } from '../../core/status';

const taskQueue = `emergency-${randomUUID()}`;
const env = { ...process.env, ...useStackEnv(), ROTOR_TASK_QUEUE: taskQueue };
process.env['ROTOR_TASK_QUEUE'] = taskQueue;
const dir = mkdtempSync(join(tmpdir(), 'rotor-emergency-'));

/** `rotor …` as a subprocess against the test worker's task queue; never throws on exit codes. */
const rotor = (...args: string[]): Promise<CliRun> => runRotorWithin(150_000, env, ...args);

describe('emergency rotation', () => {
  let worker: WorkerProcess;
  beforeAll(async () => {
    worker = await startWorkerProcess({
      taskQueue,
      logFile: join(dir, 'worker.log'),
      env: { ROTOR_METRICS_PORT: '0' },
    });
  });
  afterAll(async () => {
    await worker.stop();
  });

  it('supersedes a running scheduled rotation safely and completes, recording reason and requester', async () => {
    const ts = await awsTestStore('emergency-initial-value');
    const before = await ts.snapshot();
    // A routine rotation waiting at its approval gate, with a long soak ahead.
    const playbook = testPlaybook(ts.store, { soak: '1h', approval: { beforeRevoke: true } });
    const client = await connectClient();
    const workflowId = rotationWorkflowId(playbook.spec.secret.name);
    const scheduled: RotationInput = { playbook, trigger: 'schedule', requestedBy: 'rotor-schedule' };
    const first = await client.workflow.start('rotationWorkflow', { taskQueue, workflowId, args: [scheduled] });
    await waitForPhase(first, 'soak');
    expect((await first.query(statusQuery)).phase).toBe('soak');

    const file = join(dir, 'pb.yaml');
    // The parsed playbook validates again as written (durations in ms are accepted).
    writeFileSync(file, stringify(playbook));
    const run = await rotor(
      'rotate',
      file,
      '--emergency',
      '--compromised',
      '--reason',
      'key leaked in a public repo',
      '--requested-by',
      'oncall@example',
      '--wait',
    );
    expect({ code: run.code, stderr: run.stderr.slice(-500) }).toEqual({
      code: 0,
      stderr: expect.any(String) as string,
    });
    expect(run.stdout).toContain('superseding it for this emergency');
    expect(run.stdout).toContain(`previous schedule run ${first.firstExecutionRunId}: aborted-and-rolled-back`);

    // The superseded run rolled back, naming who and why.
    const superseded = await first.result().then(
      () => 'completed',
      (e: Error) => (e.cause as Error | undefined)?.message ?? '',
    );
    expect(superseded).toContain(
      'aborted by oncall@example: superseded by an emergency rotation: key leaked in a public repo',
    );

    const emergency = client.workflow.getHandle(workflowId);
    const status = await emergency.query(statusQuery);
    expect(status).toMatchObject({
      phase: 'rotated',
      trigger: 'emergency',
      requestedBy: 'oncall@example',
      reason: 'key leaked in a public repo',
    });
    expect(status.stages.find((s) => s.name === 'soak')?.state).toBe('skipped');
    expect(status.stages.find((s) => s.name === 'approval')?.detail).toContain('compromised');
    const after = await ts.snapshot();
    expect(after.currentVersion).not.toBe(before.currentVersion);
    expect(after.previousVersion).toBe(before.currentVersion);
    // Exactly one new version survives: the superseded run's pending version was discarded.
    expect(after.pendingVersion).toBeNull();
    await recordHistory(first, 'emergency-superseded', rotorCodec(), { runId: first.firstExecutionRunId });
    await recordHistory(emergency, 'emergency-supersede', rotorCodec());
    await client.connection.close();
  });
});
