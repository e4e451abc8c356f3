/**
 * Waiting on rotations whose worker or server may be down at the moment (fault-injection tests):
 * every query is bounded, and "no answer" is a state, not an error.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Phase, RotationStatus } from '../../core/status';
import { statusQuery } from '../../workflows/definitions';
import { activityCounts, eventTypes, toHistoryJson } from './history';

/** Status of a running rotation; undefined while nothing can answer (worker or server just killed). */
export async function statusOf(client: Client, h: WorkflowHandle): Promise<RotationStatus | undefined> {
  // Bounded: a query routed to a dead worker's sticky queue would otherwise wait for the server's timeout.
  return client.connection.withDeadline(Date.now() + 3_000, () => h.query(statusQuery)).catch(() => undefined);
}

/** Polls the status query until the phase is one of `phases`; returns the phase seen. */
export async function waitForPhaseOf(
  client: Client,
  h: WorkflowHandle,
  phases: Phase[],
  timeoutMs = 90_000,
): Promise<Phase> {
  const deadline = Date.now() + timeoutMs;
  let last: Phase | undefined;
  while (Date.now() < deadline) {
    const s = await statusOf(client, h);
    last = s?.phase ?? last;
    if (s && phases.includes(s.phase)) return s.phase;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`rotation never reached ${phases.join('/')} (last seen: ${last ?? 'no answer'})`);
}

/** Waits until the history (read from the server, no worker needed) holds an event of `type`. */
export async function waitForEvent(h: WorkflowHandle, type: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (eventTypes(toHistoryJson(await h.fetchHistory())).includes(type)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`history never showed ${type}`);
}

/** An activity the server records as running: started by a worker, not completed. */
export interface RunningActivity {
  type: string;
  attempt: number;
  /** Identity of the worker running it (`<pid>@<host>` for rotor's workers). */
  identity: string;
}

/**
 * Waits until the server records activity `type` as started, not completed, by the worker process
 * `pid` (its identity is `<pid>@<host>`); returns what the server says. Read from the server
 * (DescribeWorkflowExecution), so it holds even while that worker is frozen or dead.
 */
export async function waitForRunningActivity(
  h: WorkflowHandle,
  type: string,
  pid: number | undefined,
  timeoutMs = 60_000,
): Promise<RunningActivity> {
  const deadline = Date.now() + timeoutMs;
  let seen: RunningActivity[] = [];
  while (Date.now() < deadline) {
    const { raw } = await h.describe();
    seen = (raw.pendingActivities ?? [])
      .filter((a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)
      .map((a) => ({
        type: a.activityType?.name ?? '?',
        attempt: a.attempt ?? 0,
        identity: a.lastWorkerIdentity ?? '',
      }));
    const mine = seen.find((a) => a.type === type && a.identity.startsWith(`${pid}@`));
    if (mine) return mine;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${type} never ran on worker ${pid} (running: ${seen.map((a) => `${a.type}#${a.attempt} on ${a.identity}`).join(', ') || 'none'})`,
  );
}

/** How many times each store-changing step (forward, and the create undo) completed in a run's history. */
export async function forwardCompletions(h: WorkflowHandle): Promise<Record<string, number | undefined>> {
  const counts = activityCounts(toHistoryJson(await h.fetchHistory()));
  const steps = [
    'createPendingVersion',
    'promoteVersion',
    'revokeVersion',
    'finalizeRotation',
    'discardPendingVersion',
  ];
  return Object.fromEntries(steps.map((t) => [t, counts[t]?.completed]));
}

/** What `forwardCompletions` shows for a run that rotated once, with no undo. */
export const eachForwardStepOnce = {
  createPendingVersion: 1,
  promoteVersion: 1,
  revokeVersion: 1,
  finalizeRotation: 1,
  discardPendingVersion: undefined,
};
