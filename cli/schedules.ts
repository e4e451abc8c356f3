import type { Client } from '@temporalio/client';
import { SCHEDULE_PREFIX, scheduleIdOf, scheduledLauncherId } from '../core/ids';
import { DEFAULT_INTERVAL_MS } from '../inspect/schedules';
import type { ScheduledPlaybook } from '../adapters/playbook-files';
import { applySchedule, describeSchedule, ownerOfNote, rotationSchedule } from '../adapters/temporal/rotation-schedule';
import { tenantFor } from '../core/policy/evaluate';
import type { Policy } from '../core/policy/schema';

/** The tenant of schedules synced without a multi-tenant policy: one tenant owns every rotor schedule. */
const everyone = '*';

/**
 * The tenant each entry belongs to under `policy` (as the worker will match it for a scheduled run);
 * `everyone` without a policy or with an allow-all one. A playbook no tenant matches is an error:
 * sync could not tell whose schedules it may change.
 */
function tenantOfEntry(policy: Policy | undefined, entry: ScheduledPlaybook): string {
  if (!policy || policy.allowAll) return everyone;
  const tenant = tenantFor(policy, entry.playbook, { playbookFile: entry.file, requestedBy: 'rotor-schedule' });
  if (!tenant)
    throw new Error(
      `${entry.file}: no tenant of the policy matches this playbook, so schedule sync cannot tell whose schedules it may change; fix the playbook's directory or labels`,
    );
  return tenant.name;
}

export interface ScheduleSyncResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

function desired(entry: ScheduledPlaybook, taskQueue: string, tenant: string) {
  const { playbook, file } = entry;
  const secret = playbook.spec.secret.name;
  return rotationSchedule({
    scheduleId: scheduleIdOf(secret),
    launcherId: scheduledLauncherId(secret),
    input: { playbook, playbookFile: file, trigger: 'schedule', requestedBy: 'rotor-schedule' },
    every: playbook.spec.schedule?.every ?? DEFAULT_INTERVAL_MS,
    taskQueue,
    owner: tenant,
  });
}

/**
 * Makes Temporal's schedules match the playbooks: one schedule per playbook (its own interval, or
 * every 90 days), created or updated when the playbook changed, and rotor schedules whose playbook
 * is gone deleted. Idempotent: a second run with the same playbooks changes nothing. Under a
 * multi-tenant `policy` each schedule records its tenant: sync deletes only schedules of the
 * tenants it syncs, and refuses a secret name another tenant's schedule holds (before any change).
 */
export async function syncSchedules(
  client: Client,
  entries: ScheduledPlaybook[],
  taskQueue: string,
  policy?: Policy,
): Promise<ScheduleSyncResult> {
  const result: ScheduleSyncResult = { created: [], updated: [], unchanged: [], deleted: [] };
  const seen = new Map<string, string>();
  const planned = entries.map((entry) => ({ entry, tenant: tenantOfEntry(policy, entry) }));
  const tenants = new Set(planned.map((p) => p.tenant));
  const multiTenant = !!policy && !policy.allowAll;
  // Squatting: a name another tenant's schedule holds is refused before anything is changed.
  for (const { entry, tenant } of planned) {
    const current = await describeSchedule(client, scheduleIdOf(entry.playbook.spec.secret.name));
    const owner = ownerOfNote(current?.state.note);
    if (current && multiTenant && owner !== tenant)
      throw new Error(
        `${entry.file}: schedule ${scheduleIdOf(entry.playbook.spec.secret.name)} belongs to ${owner ? `tenant ${owner}` : 'no recorded tenant'}, not ${tenant}; secret names are one tenant's each: rename the secret (nothing was changed)`,
      );
  }
  for (const { entry, tenant } of planned) {
    const d = desired(entry, taskQueue, tenant);
    const twin = seen.get(d.scheduleId);
    if (twin)
      throw new Error(
        `${entry.file} and ${twin} both rotate secret '${entry.playbook.spec.secret.name}'; keep one playbook per secret`,
      );
    seen.set(d.scheduleId, entry.file);
    const done = await applySchedule(client, d, await describeSchedule(client, d.scheduleId));
    result[done].push(d.scheduleId);
  }
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(SCHEDULE_PREFIX) || seen.has(s.scheduleId)) continue;
    // Under tenants, only this sync's tenants' own schedules go; without, every rotor schedule is one owner's.
    if (multiTenant) {
      const owner = ownerOfNote((await client.schedule.getHandle(s.scheduleId).describe()).state.note);
      if (!owner || !tenants.has(owner)) continue;
    }
    await client.schedule.getHandle(s.scheduleId).delete();
    result.deleted.push(s.scheduleId);
  }
  return result;
}
