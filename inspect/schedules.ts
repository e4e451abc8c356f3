import type { Client } from '@temporalio/client';
import { SCHEDULE_PREFIX } from '../core/ids';

/** Rotation interval of a playbook without `spec.schedule.every`. */
export const DEFAULT_INTERVAL_MS = 90 * 86_400_000;

export interface ScheduleInfo {
  scheduleId: string;
  secret: string;
  nextRuns: Date[];
  paused: boolean;
  note: string;
}

/** rotor's schedules with their next run times. */
export async function listSchedules(client: Client): Promise<ScheduleInfo[]> {
  const out: ScheduleInfo[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(SCHEDULE_PREFIX)) continue;
    const d = await client.schedule.getHandle(s.scheduleId).describe();
    out.push({
      scheduleId: s.scheduleId,
      secret: s.scheduleId.slice(SCHEDULE_PREFIX.length),
      nextRuns: d.info.nextActionTimes,
      paused: d.state.paused,
      note: d.state.note ?? '',
    });
  }
  return out.sort((a, b) => a.secret.localeCompare(b.secret));
}
