import { randomUUID } from 'node:crypto';
import type {
  Client,
  WorkflowFailedError,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { statusQuery } from '../../workflows/definitions';
import type { RotorWorkerOptions } from '../../workers/worker';
import { workflowBundleFromEnv } from '../../workers/bundle';
import { connectWorker, createRotorWorker } from '../../workers/worker';
import { connectClient, temporalSettings } from '../../adapters/temporal/connection';
import { useStackEnv } from './stack-env';
import type { Phase } from '../../core/status';
import type { Playbook } from '../../core/playbook/schema';
import { rotationWorkflowId } from '../../core/ids';

export interface TestWorker {
  client: Client;
  taskQueue: string;
  worker: Worker;
  /** Runs `fn` while the worker polls; fails early if the worker dies. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Shuts the worker down and closes the client. */
  close(): Promise<void>;
}

let connection: NativeConnection | undefined;

/** A worker with the given activities on a fresh task queue of the local stack's Temporal server. */
export async function startTestWorker(
  activities: RotorWorkerOptions['activities'],
  sinks?: RotorWorkerOptions['sinks'],
): Promise<TestWorker> {
  useStackEnv();
  const settings = temporalSettings();
  connection ??= await connectWorker();
  const taskQueue = `test-${randomUUID()}`;
  const worker = await createRotorWorker({
    connection,
    namespace: settings.namespace,
    taskQueue,
    activities,
    ...(sinks ? { sinks } : {}),
    workflowBundlePath: workflowBundleFromEnv(),
  });
  const client = await connectClient();
  const running = worker.run();
  const died = running.then(() => {
    throw new Error('test worker stopped');
  });
  died.catch(() => undefined);
  return {
    client,
    taskQueue,
    worker,
    run: (fn) => Promise.race([fn(), died]),
    async close() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await client.connection.close();
    },
  };
}

/** Waits for the workflow's result or failure, returning either. */
export async function outcomeOf<T>(
  handle: WorkflowHandle,
): Promise<{ ok: true; result: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, result: (await handle.result()) as T };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

/**
 * Starts a manual rotation of `playbook` on `tw`, as `requestedBy` claims it (from `playbookFile`,
 * whose path the policy may match), and waits for its outcome.
 */
export async function manualRotationOutcome(
  tw: Pick<TestWorker, 'client' | 'taskQueue' | 'run'>,
  input: { playbook: Playbook; playbookFile: string; requestedBy: string },
): Promise<{ ok: true; result: unknown } | { ok: false; error: Error }> {
  const h = await tw.client.workflow.start('rotationWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: rotationWorkflowId(input.playbook.spec.secret.name),
    args: [{ ...input, trigger: 'manual' }],
  });
  return tw.run(() => outcomeOf(h));
}

/**
 * Polls the status query until the rotation reaches `phase`; throws when it does not in time. The
 * bound guards a hang, not speed: a fresh-clone run at load average 19 took over 30 s to reach
 * needs-attention, so it sits just under the integration tests' 180 s.
 */
export async function waitForPhase(h: WorkflowHandle, phase: Phase, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Before the first workflow task ran (a busy worker) the query has no handler yet, a workflow
    // just started (an incident's child, a worker just restarted) may answer NotFound for a moment,
    // and while a test has killed the only worker Temporal answers FAILED_PRECONDITION (no poller
    // seen) or, when the worker died holding the query, DEADLINE_EXCEEDED: ask again until the deadline.
    const status = await h.query(statusQuery).catch((e: unknown) => {
      if (e instanceof Error && (e.name === 'QueryNotRegisteredError' || e.name === 'WorkflowNotFoundError'))
        return undefined;
      const noWorker = /no poller seen for task queue|query timed out before a worker could process it/;
      if (e instanceof Error && noWorker.test(`${e.message} ${String(e.cause)}`)) return undefined;
      throw e;
    });
    if (status?.phase === phase) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`rotation never reached phase ${phase} within ${timeoutMs / 1000}s`);
}

/** Starts a manual rotation of `playbook` on the test worker's task queue, as `rotor rotate` would. */
export function startRotation(
  tw: TestWorker,
  playbook: Playbook,
  requestedBy = 'test',
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return tw.client.workflow.start('rotationWorkflow', {
    taskQueue: tw.taskQueue,
    workflowId: rotationWorkflowId(playbook.spec.secret.name),
    args: [{ playbook, trigger: 'manual', requestedBy }],
  });
}

/**
 * The ApplicationFailure a run failed with (through an activity's or child's failure, if that is
 * how it failed), while the test worker polls; throws when it did not fail so.
 */
export async function failureOfRun(tw: TestWorker, h: WorkflowHandle): Promise<ApplicationFailure> {
  const out = await tw.run(() => outcomeOf(h));
  if (out.ok) throw new Error(`${h.workflowId} was expected to fail`);
  let cause = (out.error as WorkflowFailedError).cause;
  while (cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) cause = cause.cause;
  if (!(cause instanceof ApplicationFailure)) throw out.error;
  return cause;
}
