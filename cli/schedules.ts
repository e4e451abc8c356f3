import { createHash } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, ScheduleOptionsAction, ScheduleSpec } from '@temporalio/client';
import { SCHEDULE_PREFIX, scheduleIdOf, scheduledLauncherId } from '../core/ids';
import { DEFAULT_INTERVAL_MS } from '../inspect/schedules';
import type { ScheduledPlaybook } from '../adapters/playbook-files';
import { RotationPhase, RotationPlaybook, RotationSecret, RotationTrigger } from '../core/search-attributes';
import type { RotationInput } from '../core/status';

export interface ScheduleSyncResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
}

function desired(entry: ScheduledPlaybook, taskQueue: string) {
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
  const note = `rotor:${createHash('sha256').update(JSON.stringify({ every, jitter, input, taskQueue })).digest('hex').slice(0, 16)}`;
  return { scheduleId: scheduleIdOf(secret), spec, action, note };
}

/**
 * Makes Temporal's schedules match the playbooks: one schedule per playbook (its own interval, or
 * every 90 days), created or updated when the playbook changed, and rotor schedules whose playbook
 * is gone deleted. Idempotent: a second run with the same playbooks changes nothing.
 */
export async function syncSchedules(
  client: Client,
  entries: ScheduledPlaybook[],
  taskQueue: string,
): Promise<ScheduleSyncResult> {
  const result: ScheduleSyncResult = { created: [], updated: [], unchanged: [], deleted: [] };
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const d = desired(entry, taskQueue);
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
    if (s.scheduleId.startsWith(SCHEDULE_PREFIX) && !seen.has(s.scheduleId)) {
      await client.schedule.getHandle(s.scheduleId).delete();
      result.deleted.push(s.scheduleId);
    }
  }
  return result;
}
