import { Context } from '@temporalio/activity';
import type { RotationStatus } from '../core/status';

/** A rotation of an incident that is stuck past its point of no return, and why. */
export interface StuckRotation {
  workflowId: string;
  why: string;
}

/** The rotations' status query (workflows/definitions.ts `statusQuery`), by name: activities do not import workflows. */
const statusQueryName = 'statusQuery';

/**
 * The activities of an incident. They read rotation statuses only (phases and the attention text,
 * never a value) and change nothing, so they are open (activities/admitted.ts).
 */
export function createIncidentActivities() {
  return {
    /**
     * Which of these running rotations (`rotate/…` only) are in needs-attention, with the
     * attention text their status shows; a rotation that does not answer is left out.
     */
    async rotationsNeedingAttention(workflowIds: string[]): Promise<StuckRotation[]> {
      const client = Context.current().client;
      const stuck: StuckRotation[] = [];
      for (const workflowId of workflowIds.filter((id) => id.startsWith('rotate/'))) {
        const status = await client.workflow
          .getHandle(workflowId)
          .query<RotationStatus>(statusQueryName)
          .catch(() => undefined);
        if (status?.phase === 'needs-attention')
          stuck.push({ workflowId, why: status.attention ?? 'needs attention past the point of no return' });
      }
      return stuck;
    },
  };
}
