import type { Client } from '@temporalio/client';
import type { RotorMetrics } from '../workers/metrics';
import { fleetStatus } from './fleet';
import type { ScheduledPlaybook } from './schedules';

/**
 * Sets the worker's `rotor_overdue_secrets` gauge from the fleet view of the given playbooks
 * (secrets whose last successful rotation is older than their interval, or that never rotated).
 * Returns the overdue secret names.
 */
export async function refreshOverdue(
  metrics: RotorMetrics,
  client: Client,
  entries: ScheduledPlaybook[],
): Promise<string[]> {
  const overdue = (await fleetStatus(client, entries)).filter((s) => s.overdue).map((s) => s.secret);
  metrics.overdue.set(overdue.length);
  return overdue;
}
