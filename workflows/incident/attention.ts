import { log } from '@temporalio/workflow';
import type { ChildRecord } from '../../core/incident/types';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';
import { rootMessage } from '../saga';

/** How often the incident asks its running rotations whether one is stuck in needs-attention. */
export const attentionPollMs = 60_000;

/**
 * Marks each running rotation that is stuck past its point of no return as `needs-attention`,
 * with the attention text its status shows. It stays running (retrying on its own, `rotor retry`
 * retries now) and no longer holds the incident open; if it recovers its record becomes `rotated`.
 */
export async function markStuck(records: ChildRecord[]): Promise<boolean> {
  const running = records.filter((r) => r.state === 'running');
  if (running.length === 0) return false;
  // Only a look: when it cannot be had, the rotations are asked again at the next poll.
  const stuck = await callActivity(
    acts.rotationsNeedingAttention,
    profiles.store,
    'ask the running rotations whether one needs attention',
    running.map((r) => r.workflowId),
  ).catch((e: unknown) => {
    log.warn('could not ask the running rotations for their status', { error: rootMessage(e) });
    return [];
  });
  for (const s of stuck) {
    const record = running.find((r) => r.workflowId === s.workflowId);
    if (!record || record.state !== 'running') continue;
    record.state = 'needs-attention';
    record.why = `still running past its point of no return: ${s.why}`;
  }
  return stuck.length > 0;
}
