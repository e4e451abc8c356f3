import type { Client } from '@temporalio/client';
import { fleetStatus } from './fleet';
import type { ScheduledPlaybook } from '../adapters/playbook-files';

/**
 * Sets the worker's `rotor_overdue_secrets` gauge from the fleet view of the given playbooks
 * (secrets whose last successful rotation is older than their interval, or that never rotated).
 * Returns the overdue secret names.
 */
export async function refreshOverdue(
  metrics: { overdue: { set(value: number): void } },
  client: Client,
  entries: ScheduledPlaybook[],
): Promise<string[]> {
  const overdue = (await fleetStatus(client, entries)).filter((s) => s.overdue).map((s) => s.secret);
  metrics.overdue.set(overdue.length);
  return overdue;
}
