/**
 * Waiting on rotations whose worker or server may be down at the moment (fault-injection tests):
 * every query is bounded, and "no answer" is a state, not an error.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Phase, RotationStatus } from '../../core/status';
import { statusQuery } from '../../workflows/definitions';
import { eventTypes, toHistoryJson } from './history';

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
