import { createHash } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import { SCHEDULE_PREFIX, scheduleIdOf, scheduledLauncherId } from '../core/ids';
import { DEFAULT_INTERVAL_MS } from '../inspect/schedules';
import type { ScheduledPlaybook } from '../adapters/playbook-files';
import { RotationPhase, RotationPlaybook, RotationSecret, RotationTrigger } from '../core/search-attributes';
import type { RotationInput } from '../core/status';
import { tenantFor } from '../core/policy/evaluate';
import type { Policy } from '../core/policy/schema';

/** The tenant of schedules synced without a multi-tenant policy: one tenant owns every rotor schedule. */
const everyone = '*';

/** The tenant a schedule was synced for, from its note (`rotor:<digest> tenant=<name>`); undefined before tenants. */
function tenantOfNote(note: string | undefined): string | undefined {
  return / tenant=(\S+)$/.exec(note ?? '')?.[1];
}

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
  const every = playbook.spec.schedule?.every ?? DEFAULT_INTERVAL_MS;
  const jitter = playbook.spec.schedule?.jitter ?? 0;
  const input: RotationInput = { playbook, playbookFile: file, trigger: 'schedule', requestedBy: 'rotor-schedule' };
  const spec: ScheduleSpec = { intervals: [{ every }], ...(jitter ? { jitter } : {}) };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    // The launcher starts the rotation as `rotate/<secret>`, so it never overlaps a manual one.
    workflowType: 'scheduledRotationWorkflow',
    workflowId: scheduledLauncherId(secret),
    taskQueue,
    args: [input],
    staticSummary: `scheduled rotation of ${secret}`,
    typedSearchAttributes: [
      { key: RotationSecret, value: secret },
      { key: RotationPlaybook, value: playbook.metadata.name },
      { key: RotationTrigger, value: 'schedule' },
      { key: RotationPhase, value: 'plan' },
    ],
  };
  // The note carries a digest of what was synced, so an unchanged playbook is left alone.
  const digest = createHash('sha256').update(JSON.stringify({ every, jitter, input, taskQueue, tenant }));
  const note = `rotor:${digest.digest('hex').slice(0, 16)} tenant=${tenant}`;
  return { scheduleId: scheduleIdOf(secret), spec, action, note };
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
    const current = await client.schedule
      .getHandle(scheduleIdOf(entry.playbook.spec.secret.name))
      .describe()
      .catch((e: unknown) => {
        if (e instanceof ScheduleNotFoundError) return undefined;
        throw e;
      });
    const owner = tenantOfNote(current?.state.note);
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
    const handle = client.schedule.getHandle(d.scheduleId);
    const current = await handle.describe().catch((e: unknown) => {
      if (e instanceof ScheduleNotFoundError) return undefined;
      throw e;
    });
    if (!current) {
      await client.schedule.create({
        scheduleId: d.scheduleId,
        spec: d.spec,
        action: d.action,
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
        state: { note: d.note },
      });
      result.created.push(d.scheduleId);
    } else if (current.state.note !== d.note) {
      await handle.update((prev) => ({
        ...prev,
        spec: d.spec,
        action: d.action,
        state: { ...prev.state, note: d.note },
      }));
      result.updated.push(d.scheduleId);
    } else {
      result.unchanged.push(d.scheduleId);
    }
  }
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(SCHEDULE_PREFIX) || seen.has(s.scheduleId)) continue;
    // Under tenants, only this sync's tenants' own schedules go; without, every rotor schedule is one owner's.
    if (multiTenant) {
      const owner = tenantOfNote((await client.schedule.getHandle(s.scheduleId).describe()).state.note);
      if (!owner || !tenants.has(owner)) continue;
    }
    await client.schedule.getHandle(s.scheduleId).delete();
    result.deleted.push(s.scheduleId);
  }
  return result;
}
