/**
 * Worker Versioning on the stack's real Temporal server: a rotation waiting at its approval gate
 * while a new worker build becomes current finishes on the build that started it (pinned), and a
 * rotation started after the upgrade runs on the new build. This is how workflow changes ship
 * after 1.0, instead of `patched()` branches. The upgrade's steps go through the CLI as an
 * operator runs them: `rotor deployment set-current`, `status` (the old build draining while its
 * pinned run waits), and `wait-drained`, which answers only once the server counted no open run.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, temporalSettings } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationResult } from '../../core/status';
import { workflowBundleFromEnv } from '../../workers/bundle';
import { setCurrentVersion } from '../../adapters/temporal/worker-deployment';
import { connectWorker, createRotorWorker } from '../../workers/worker';
import { approveUpdate } from '../../workflows/definitions';
import { fakeStores } from '../helpers/fake-store';
import { buildIdsOf } from '../helpers/history';
import { testPlaybook } from '../helpers/playbooks';
import { runRotor } from '../helpers/cli';
import { useStackEnv } from '../helpers/stack-env';
import { waitForPhase } from '../helpers/worker';

const env = { ...process.env, ...useStackEnv() };
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

/** `rotor deployment <args…> --deployment <this test's deployment>`. */
const rotor = (...args: string[]) => runRotor(env, 'deployment', ...args, '--deployment', deploymentName);

/** Each build's status as `rotor deployment status --json` reports it. */
async function statuses(): Promise<Record<string, string>> {
  const run = await rotor('status', '--json');
  expect(run, run.stderr).toMatchObject({ code: 0 });
  const { versions } = JSON.parse(run.stdout) as { versions: { buildId: string; status: string }[] };
  return Object.fromEntries(versions.map((v) => [v.buildId, v.status]));
}

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
    await waitForPhase(old, 'approval');
    expect((await old.describe()).raw.workflowExecutionInfo?.versioningInfo?.behavior).toBe(
      // temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
      1,
    );

    await startBuild('build-b');
    const setCurrent = await rotor('set-current', 'build-b');
    expect(setCurrent, setCurrent.stderr).toMatchObject({ code: 0 });
    const fresh = await start();
    await waitForPhase(fresh, 'approval');

    // A still runs the pinned rotation waiting for approval: draining, so its workers must stay.
    expect(await statuses()).toEqual({ 'build-a': 'draining', 'build-b': 'current' });
    const early = await rotor('wait-drained', 'build-a', '--timeout', '12s');
    expect(early.code, early.stderr).toBe(1);
    expect(early.stderr).toMatch(/build 'build-a' is still draining after 12 s .*keep its workers running/);
    // The current build takes new runs: waiting for it to drain is refused at once.
    const current = await rotor('wait-drained', 'build-b');
    expect(current.stderr).toContain("build 'build-b' is current: it takes new rotations and cannot drain");

    for (const h of [old, fresh]) await h.executeUpdate(approveUpdate, { args: [{ by: 'bob' }] });
    expect(((await old.result()) as RotationResult).outcome).toBe('rotated');
    expect(((await fresh.result()) as RotationResult).outcome).toBe('rotated');
    expect(new Set(await buildsOf(old))).toEqual(new Set(['build-a']));
    expect(new Set(await buildsOf(fresh))).toEqual(new Set(['build-b']));

    // Its last pinned run closed: the server reports A drained (the stack counts every 5 s).
    const drained = await rotor('wait-drained', 'build-a', '--timeout', '90s');
    expect(drained, drained.stderr).toMatchObject({ code: 0 });
    expect(drained.stdout).toContain(`${deploymentName}/build-a is drained`);
    expect(await statuses()).toEqual({ 'build-a': 'drained', 'build-b': 'current' });
  });

  it('names what is wrong: an unknown deployment, an unknown build, a malformed build id or timeout', async () => {
    const unknown = await runRotor(env, 'deployment', 'status', '--deployment', `nobody-${randomUUID().slice(0, 8)}`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Temporal has no worker deployment 'nobody-[0-9a-f]+' .*ROTOR_DEPLOYMENT_NAME/);
    expect((await rotor('wait-drained', 'build-z')).stderr).toContain(
      `worker deployment '${deploymentName}' has no build 'build-z'`,
    );
    expect((await rotor('set-current', 'a b')).stderr).toContain('<build-id>: letters, digits');
    expect((await rotor('wait-drained', 'build-a', '--timeout', 'soon')).stderr).toContain(
      "--timeout: 'soon' is not a duration",
    );
  });
});
