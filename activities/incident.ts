import { Context } from '@temporalio/activity';
import pLimit from 'p-limit';
import { evictSquatter } from '../adapters/temporal/rotation-squatters';
import type { IdHolder } from '../adapters/temporal/rotation-squatters';
import { ErrorTypes, permanent } from '../core/failures';
import { foreignRunProblems } from '../core/foreign-run';
import type { RotationStatus } from '../core/status';
import { rotationWorkflowType } from './admission';
import { incidentType } from './identity';

/** A rotation of an incident that is stuck past its point of no return, and why. */
export interface StuckRotation {
  workflowId: string;
  why: string;
}

/** How many rotations an incident asks for their status at once. */
const statusQueriesAtOnce = 8;

/** The rotations' status query (workflows/definitions.ts `statusQuery`), by name: activities do not import workflows. */
const statusQueryName = 'statusQuery';

/**
 * The activities of an incident. They read rotation statuses only (phases and the attention text,
 * never a value), or terminate a workflow that is not rotor's under a rotation id, for an incident
 * of this worker: none touches a store, a cluster or a run of rotor's, so they are open
 * (activities/admitted.ts).
 */
export function createIncidentActivities() {
  return {
    /**
     * Which of these running rotations (`rotate/…` only) are in needs-attention, with the
     * attention text their status shows; a rotation that does not answer is left out.
     */
    async rotationsNeedingAttention(workflowIds: string[]): Promise<StuckRotation[]> {
      const client = Context.current().client;
      // A few at a time: one after another, 46 queries took 14.5 s while rotations waited to be started.
      const limit = pLimit(statusQueriesAtOnce);
      const statuses = await Promise.all(
        workflowIds
          .filter((id) => id.startsWith('rotate/'))
          .map((workflowId) =>
            limit(async () => ({
              workflowId,
              status: await client.workflow
                .getHandle(workflowId)
                .query<RotationStatus>(statusQueryName)
                .catch(() => undefined),
            })),
          ),
      );
      return statuses.flatMap(({ workflowId, status }) =>
        status?.phase === 'needs-attention'
          ? [{ workflowId, why: status.attention ?? 'needs attention past the point of no return' }]
          : [],
      );
    },

    /**
     * Frees a rotation id (`rotate/…`) an incident could not start its rotation under from a workflow
     * that is not rotor's rotation on this task queue: any Temporal client can start one under that
     * id on a queue of its own, and the incident would skip the secret as "already running". Only
     * that run is terminated; a rotation of rotor's is left alone (the incident skips it). Only an
     * incident of this worker may ask.
     */
    async evictRotationSquatter(workflowId: string): Promise<IdHolder> {
      const ctx = Context.current();
      const taskQueue = ctx.info.taskQueue;
      const caller = ctx.info.workflowExecution;
      const refuse = (why: string) =>
        permanent(ErrorTypes.notAdmitted, `evictRotationSquatter refused, nothing was changed: ${why}`);
      if (!caller) throw refuse('it was not called by a workflow');
      const callerRun = await ctx.client.workflow.getHandle(caller.workflowId, caller.runId).describe();
      const callerProblems = foreignRunProblems(callerRun, { type: incidentType, taskQueue });
      if (callerProblems.length > 0)
        throw refuse(`only an incident of this worker may ask; ${caller.workflowId}: ${callerProblems.join(', ')}`);
      if (!workflowId.startsWith('rotate/')) throw refuse(`${workflowId} is not a rotation id (rotate/…)`);
      return evictSquatter(
        ctx.client,
        workflowId,
        { type: rotationWorkflowType, taskQueue },
        (why) =>
          `rotor: incident ${caller.workflowId} terminated a workflow that held the rotation id ${workflowId} and is not rotor's rotation (${why})`,
      );
    },
  };
}
