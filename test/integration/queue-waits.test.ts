/**
 * Time queued for a worker, on the local stack's real Temporal server (workflows/activity-calls.ts,
 * workflows/profiles.ts `queueWaits`): a step no worker started within its schedule-to-start
 * timeout is scheduled again with its whole stage budget, while a step a worker started, whose
 * retry then waits in the queue, keeps its stage's bound (the server names the last attempt's
 * failure as the timeout's cause; Temporal's time-skipping test server does not time out a
 * queued retry at all, so this half is shown here only). Store activities are real (moto); only
 * the worker that runs them comes and goes, and the dead plan backend is injected.
 */
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import type { RotationActivities } from '../../activities/index';
import { connectClient, temporalSettings } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import { RetryableErrorTypes } from '../../core/failures';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { workflowBundleFromEnv } from '../../workers/bundle';
import { depsFromEnv } from '../../workers/deps';
import { connectWorker, createRotorWorker } from '../../workers/worker';
import { statusQuery } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import { outcomeOf } from '../helpers/worker';

useStackEnv();

const SECOND = 1000;

/** Workers of one fresh task queue, each on a connection of its own (one may not hold two of a queue). */
async function queueOf() {
  const settings = temporalSettings();
  const taskQueue = `queue-waits-${randomUUID()}`;
  const held: { worker: Worker; running: Promise<void>; connection: NativeConnection }[] = [];
  const client: Client = await connectClient();
  const add = async (runs: 'workflows' | RotationActivities): Promise<Worker> => {
    const connection = await connectWorker();
    const worker = await createRotorWorker({
      connection,
      namespace: settings.namespace,
      taskQueue,
      activities: runs === 'workflows' ? {} : runs,
      activitiesOnly: runs !== 'workflows',
      workflowBundlePath: workflowBundleFromEnv(),
    });
    held.push({ worker, running: worker.run(), connection });
    return worker;
  };
  return {
    client,
    taskQueue,
    add,
    async close() {
      for (const h of held) if (h.worker.getState() === 'RUNNING') h.worker.shutdown();
      await Promise.all(held.map((h) => h.running));
      await Promise.all(held.map((h) => h.connection.close()));
      await client.connection.close();
    },
  };
}

/** `real`, counting the calls of each activity in `counts`; `before` runs ahead of each (and may throw), `after` once it returned. */
function watched(
  real: RotationActivities,
  counts: Map<string, number>,
  hooks: { before?: (name: string) => void; after?: (name: string) => void } = {},
): RotationActivities {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(real) as [string, (...args: never[]) => Promise<unknown>][])
    wrapped[name] = async (...args) => {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      hooks.before?.(name);
      const result = await fn(...args);
      hooks.after?.(name);
      return result;
    };
  return wrapped as unknown as RotationActivities;
}

/** The plan's backend is down (injected, as a connection refused is retried). */
function deadPlan(name: string): void {
  if (name === 'planRotation')
    throw ApplicationFailure.retryable('planRotation: connect ECONNREFUSED (injected)', RetryableErrorTypes.aws);
}

/** Polls in real time until `ok` holds (at most 30 s). */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!ok()) throw new Error('the condition never held');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a manual rotation of `playbook` on the queue. */
function start(q: { client: Client; taskQueue: string }, playbook: Playbook): Promise<WorkflowHandle> {
  return q.client.workflow.start('rotationWorkflow', {
    taskQueue: q.taskQueue,
    workflowId: rotationWorkflowId(playbook.spec.secret.name),
    args: [{ playbook, trigger: 'manual', requestedBy: 'test' }],
  });
}

type Hooks = Parameters<typeof watched>[2];

/**
 * The case both tests share: a rotation (timeouts.plan 10 s) of a fresh moto secret, on a queue
 * whose workflow worker stays throughout; the first activity worker (`first`, given itself to stop)
 * runs until it stops; 15 s later, past the plan's 10 s, a second one (`later`) comes. `check`
 * gets the run, the calls of each activity, the store and its snapshot before.
 */
async function queuedCase(
  first: (self: () => Worker) => Hooks,
  later: Hooks,
  check: (c: {
    h: WorkflowHandle;
    counts: Map<string, number>;
    store: TestStore;
    before: StoreSnapshot;
  }) => Promise<void>,
): Promise<void> {
  const q = await queueOf();
  try {
    const store = await awsTestStore('queue-waits-initial');
    const before = await store.snapshot();
    const real = createActivities(depsFromEnv());
    const counts = new Map<string, number>();
    await q.add('workflows');
    const worker: Worker = await q.add(
      watched(
        real,
        counts,
        first(() => worker),
      ),
    );
    const h = await start(q, testPlaybook(store.store, { timeouts: { plan: '10s' } }));
    await until(() => worker.getState() !== 'RUNNING');
    await sleep(15 * SECOND);
    await q.add(watched(real, counts, later));
    await check({ h, counts, store, before });
  } finally {
    await q.close();
  }
}

describe('a step queued for a worker, on the real Temporal server (timeouts.plan 10 s: 5 s a call in the queue)', () => {
  it('no worker started it: it is scheduled again past the stage timeout and the rotation ends rotated', async () => {
    await queuedCase(
      // The first activity worker stops once admission is done: plan waits with no worker.
      (self) => ({ after: (name) => name === 'admitRotation' && self().shutdown() }),
      {},
      async ({ h, counts, store, before }) => {
        const out = await outcomeOf(h);
        expect(out).toMatchObject({ ok: true, result: { outcome: 'rotated' } });
        // Run once, by the second worker: nothing of it ran before.
        expect(counts.get('planRotation')).toBe(1);
        expect((await store.snapshot()).currentVersion).not.toBe(before.currentVersion);
        const plan = (await h.query<RotationStatus>(statusQuery)).stages.find((s) => s.name === 'plan');
        expect(plan?.detail).toMatch(/^no worker started plan within 5 s \([23]×\)/);
      },
    );
  }, 120_000);

  it('a worker started it against a dead backend and its retry queued: it fails within the stage timeout, as without a queue', async () => {
    await queuedCase(
      // The only activity worker runs the plan's first attempt (refused) and stops: the retry, 1 s
      // later, waits in the queue.
      (self) => ({
        before: (name) => {
          if (name === 'planRotation') self().shutdown();
          deadPlan(name);
        },
      }),
      { before: deadPlan },
      async ({ h, counts, store, before }) => {
        const out = await outcomeOf(h);
        expect(out.ok).toBe(false);
        // Had the queued retry been scheduled again with a fresh 10 s, the step would still have
        // been waiting when the second worker came, and that one would have run it again.
        expect(counts.get('planRotation')).toBe(1);
        expect((await h.query<RotationStatus>(statusQuery)).phase).toBe('rolled-back');
        expect(await store.snapshot()).toEqual(before);
      },
    );
  }, 120_000);
});
