import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, ParentClosePolicy, log, startChild } from '@temporalio/workflow';
import { WorkflowErrorTypes } from '../../core/failures';
import type { ChildRecord, IncidentInput, IncidentTarget } from '../../core/incident/types';
import { childInput } from '../../core/incident/child-input';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';
import { rotationWorkflow } from '../rotation';
import { rootMessage } from '../saga';

/** The first failure type in an error's cause chain. */
function failureType(err: unknown): string | undefined {
  for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as { cause?: unknown } | undefined)
    if (e instanceof ApplicationFailure && e.type) return e.type;
  return undefined;
}

/** Rolled back cleanly: the old credential is current again and nothing is left half-done. */
const cleanRollbacks = new Set<string>([
  WorkflowErrorTypes.rolledBack,
  WorkflowErrorTypes.aborted,
  WorkflowErrorTypes.approvalTimedOut,
]);

/** Where a rotation's failure leaves its record: skipped, rolled back, or needing attention, and why. */
export function classify(err: unknown): Pick<ChildRecord, 'state' | 'why'> {
  if (err instanceof WorkflowExecutionAlreadyStartedError)
    return { state: 'skipped', why: 'a rotation of this secret was already running; none was started' };
  const type = failureType(err);
  const why = rootMessage(err);
  if (type === WorkflowErrorTypes.storeLocked) return { state: 'skipped', why };
  if (type !== undefined && cleanRollbacks.has(type)) return { state: 'rolled-back', why };
  return { state: 'needs-attention', why: type ? `${type}: ${why}` : why };
}

/**
 * Starts one rotation as a child and waits for its end. Abandoned when the incident closes (a
 * terminated incident leaves each rotation to finish or compensate on its own); an abort cancels
 * the scope this runs in, which asks the child to cancel: it rolls back before its point of no
 * return, and finishes forward past it.
 */
export async function runChild(input: IncidentInput, incidentId: string, target: IncidentTarget, record: ChildRecord) {
  const start = () =>
    startChild(rotationWorkflow, {
      workflowId: record.workflowId,
      args: [childInput(input, incidentId, target)],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `incident ${incidentId}: emergency rotation of ${record.secret}`,
    });
  const child = await start().catch(async (err: unknown) => {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // The id may be held by a workflow that is not rotor's: that one is terminated, once.
    const holder = await callActivity(
      acts.evictRotationSquatter,
      profiles.store,
      `free ${record.workflowId} from a workflow that is not rotor's`,
      record.workflowId,
    );
    if ('held' in holder) throw err;
    if ('evicted' in holder)
      log.warn("terminated a workflow that held a rotation id and is not rotor's", {
        workflowId: record.workflowId,
        why: holder.evicted,
      });
    return start();
  });
  return child.result();
}
