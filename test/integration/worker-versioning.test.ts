/**
 * Worker Versioning on the stack's real Temporal server: a rotation waiting at its approval gate
 * while a new worker build becomes current finishes on the build that started it (pinned), and a
 * rotation started after the upgrade runs on the new build. This is how workflow changes ship
 * after 1.0, instead of `patched()` branches.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, temporalSettings } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationResult } from '../../core/status';
import { workflowBundleFromEnv } from '../../workers/bundle';
import { setCurrentVersion } from '../../workers/versioning';
import { connectWorker, createRotorWorker } from '../../workers/worker';
import { approveUpdate } from '../../workflows/definitions';
import { fakeStores } from '../helpers/fake-store';
import { buildIdsOf } from '../helpers/history';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { waitForPhase } from '../helpers/worker';

useStackEnv();
const taskQueue = `versioning-${randomUUID()}`;
const deploymentName = `rotor-test-${randomUUID().slice(0, 8)}`;
const stores = fakeStores(() => Promise.resolve(Date.now()));
const running: { worker: Worker; done: Promise<void> }[] = [];

async function startBuild(buildId: string): Promise<void> {
  const worker = await createRotorWorker({
    connection: await connectWorker(),
    namespace: temporalSettings().namespace,
    taskQueue,
    activities: stores.activities,
    workflowBundlePath: workflowBundleFromEnv(),
    deployment: {
      version: { deploymentName, buildId },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'PINNED',
    },
  });
  running.push({ worker, done: worker.run() });
}

/** The build ids that completed workflow tasks of the run, in history order. */
const buildsOf = async (h: WorkflowHandle) => buildIdsOf(await h.fetchHistory());

const client = await connectClient();
afterAll(async () => {
  for (const r of running) if (r.worker.getState() === 'RUNNING') r.worker.shutdown();
  await Promise.all(running.map((r) => r.done));
  await client.connection.close();
});

describe('worker versioning', () => {
  beforeAll(async () => {
    await startBuild('build-a');
    await setCurrentVersion(client, { deploymentName, buildId: 'build-a' });
  });

  it('a run stays on the build that started it across an upgrade; new runs start on the new build', async () => {
    const start = async () => {
      // A store location of its own: rotations of one location wait for each other's lock.
      const store = { type: 'aws' as const, secretId: `rotor-test/versioning-${randomUUID()}` };
      const playbook = testPlaybook(store, { approval: { beforeRevoke: true } });
      const workflowId = rotationWorkflowId(playbook.spec.secret.name);
      return client.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId,
        args: [{ playbook, trigger: 'manual', requestedBy: 'test' }],
      });
    };
    const old = await start();
    await waitForPhase(old, 'approval', 60_000);
    expect((await old.describe()).raw.workflowExecutionInfo?.versioningInfo?.behavior).toBe(
      // temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
      1,
    );

    await startBuild('build-b');
    await setCurrentVersion(client, { deploymentName, buildId: 'build-b' });
    const fresh = await start();
    await waitForPhase(fresh, 'approval', 60_000);

    for (const h of [old, fresh]) await h.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] });
    expect(((await old.result()) as RotationResult).outcome).toBe('rotated');
    expect(((await fresh.result()) as RotationResult).outcome).toBe('rotated');
    expect(new Set(await buildsOf(old))).toEqual(new Set(['build-a']));
    expect(new Set(await buildsOf(fresh))).toEqual(new Set(['build-b']));
  });
});
