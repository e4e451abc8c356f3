/**
 * SIGTERM, as a kubelet sends it when a worker pod is deleted or rolled: the real worker process
 * stops polling at once (its readiness probe turns 503 and a rotation started meanwhile waits for
 * another worker), lets the activity it is running finish within ROTOR_SHUTDOWN_GRACE_S, and exits;
 * an activity still running when the grace ends is cancelled and handed back, and a second worker
 * retries it. Another worker carries the rotations to the end either way.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';
import { canaryGate } from '../helpers/canary-gate';
import { activityStarts, toHistoryJson } from '../helpers/history';
import { testPlaybook } from '../helpers/playbooks';
import { freePort } from '../helpers/private-service';
import { waitForRunningActivity } from '../helpers/rotation-wait';
import type { RunningActivity } from '../helpers/rotation-wait';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';

useStackEnv();

/** The worker's health answer, as `<status> <state>` (`0` when nothing answers): a failure names the state. */
async function probe(port: number, path: string): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    return `${res.status} ${(await res.text()).trim()}`;
  } catch {
    return '0';
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a worker receiving SIGTERM', () => {
  let client: Client;
  let logDir: string;
  beforeAll(async () => {
    client = await connectClient();
    logDir = mkdtempSync(join(tmpdir(), 'rotor-shutdown-'));
  });
  afterAll(async () => {
    await client?.connection.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('stops polling, finishes its running activity, exits, and another worker finishes the rotations', async () => {
    const taskQueue = `shutdown-${randomUUID()}`;
    const healthPort = await freePort();
    const logFile = join(logDir, 'first.log');
    const first = await startWorkerProcess({
      taskQueue,
      logFile,
      env: { ROTOR_HEALTH_PORT: String(healthPort), ROTOR_SHUTDOWN_GRACE_S: '120', ROTOR_SHUTDOWN_FORCE_S: '150' },
    });
    const gate = canaryGate('held');
    try {
      await until(
        'the first worker was never ready',
        async () => (await probe(healthPort, '/readyz')) === '200 RUNNING',
      );
      const ts = await vaultTestStore(`shutdown-${randomUUID()}`);
      const playbook = testPlaybook(ts.store, { canaries: [gate.canary] });
      const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'shutdown-test' };
      const h = await client.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [input],
      });
      const running = await waitForRunningActivity(h, 'runCanary', first.pid, 90_000);
      // The server marks the activity started when the worker polls it; the SIGTERM must come once
      // the worker runs it (its canary process waits at the gate), which is what this test is about.
      await gate.running();

      // SIGTERM while the canary runs: the worker drains, so it is alive but no longer ready.
      const stopped = first.stop(180_000);
      await until('readiness never dropped after SIGTERM', async () =>
        (await probe(healthPort, '/readyz')).startsWith('503 '),
      );
      expect(
        await probe(healthPort, '/livez'),
        `worker stderr:\n${first.stderr().slice(-3000)}\nlog:\n${readFileSync(logFile, 'utf8').slice(-3000)}`,
      ).toMatch(/^200 (STOPPING|DRAINING|DRAINED)$/);

      // It polls no more: a rotation started now is not picked up while the first worker drains.
      const ts2 = await vaultTestStore(`shutdown-late-${randomUUID()}`);
      const late = testPlaybook(ts2.store, {});
      const h2 = await client.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId: rotationWorkflowId(late.spec.secret.name),
        args: [{ playbook: late, trigger: 'manual', requestedBy: 'shutdown-test' } satisfies RotationInput],
      });
      await new Promise((r) => setTimeout(r, 3_000));
      const lateHistory = toHistoryJson(await h2.fetchHistory());
      expect(lateHistory.events.some((e) => e['eventType'] === 'EVENT_TYPE_WORKFLOW_TASK_STARTED')).toBe(false);

      // The running activity finishes on the draining worker, which then exits.
      gate.open();
      await stopped;
      const log = readFileSync(logFile, 'utf8');
      expect(log).toContain('rotor worker stopped');
      const canaryRuns = activityStarts(toHistoryJson(await h.fetchHistory()), 'runCanary');
      expect(canaryRuns).toEqual([{ attempt: 1, identity: running.identity, previousAttemptTimedOut: false }]);

      // Another worker carries both rotations to the end.
      const second = await startWorkerProcess({ taskQueue, logFile: join(logDir, 'second.log') });
      try {
        expect(((await h.result()) as RotationResult).outcome).toBe('rotated');
        expect(((await h2.result()) as RotationResult).outcome).toBe('rotated');
      } finally {
        await second.stop();
      }
    } finally {
      gate.dispose();
      await first.kill();
    }
  });

  it('hands back an activity still running when the grace ends: another worker retries it and the rotation ends rotated', async () => {
    const taskQueue = `shutdown-handback-${randomUUID()}`;
    const logFile = join(logDir, 'handback.log');
    const first = await startWorkerProcess({
      taskQueue,
      logFile,
      env: { ROTOR_SHUTDOWN_GRACE_S: '1', ROTOR_SHUTDOWN_FORCE_S: '60' },
    });
    const gate = canaryGate('held-past-grace');
    try {
      const ts = await vaultTestStore(`handback-${randomUUID()}`);
      const playbook = testPlaybook(ts.store, { canaries: [gate.canary] });
      const h = await client.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [{ playbook, trigger: 'manual', requestedBy: 'shutdown-test' } satisfies RotationInput],
      });
      const running = await waitForRunningActivity(h, 'runCanary', first.pid, 90_000);
      await gate.running();
      // The canary outlives the 1 s grace: the worker cancels it, reports the attempt, and exits.
      await first.stop(90_000);
      expect(readFileSync(logFile, 'utf8')).toContain('rotor worker stopped');

      const second = await startWorkerProcess({ taskQueue, logFile: join(logDir, 'handback-second.log') });
      let retried: RunningActivity | undefined;
      try {
        retried = await waitForRunningActivity(h, 'runCanary', second.pid, 90_000);
        expect(retried.attempt).toBeGreaterThan(running.attempt);
        expect(retried.identity).not.toBe(running.identity);
        gate.open();
        expect(((await h.result()) as RotationResult).outcome).toBe('rotated');
      } finally {
        await second.stop();
      }
      // The attempt that completed the canary is the retry, on the second worker; the rotation did not roll back.
      const runs = activityStarts(toHistoryJson(await h.fetchHistory()), 'runCanary');
      expect(runs.at(-1)).toMatchObject({ identity: retried?.identity, attempt: retried?.attempt });
    } finally {
      gate.dispose();
      await first.kill();
    }
  });
});
