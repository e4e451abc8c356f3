import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, executeChild, log } from '@temporalio/workflow';
import { rotationWorkflow } from './rotation';
import { rotationWorkflowId } from '../core/ids';
import type { RotationInput, RotationResult } from '../core/status';

export type ScheduledOutcome = { outcome: 'rotated'; result: RotationResult } | { outcome: 'skipped'; reason: string };

/**
 * What a rotor schedule starts. Temporal suffixes scheduled workflow ids with a timestamp, so the
 * schedule cannot claim `rotate/<secret>` itself; this launcher starts the rotation under that id
 * as a child, so a scheduled run never overlaps a manual or emergency one: when one is running,
 * the scheduled run is skipped and says so.
 */
export async function scheduledRotationWorkflow(input: RotationInput): Promise<ScheduledOutcome> {
  // A RotationPlaybook's schedule (its input names the namespace) rotates under the namespace's id.
  const workflowId = rotationWorkflowId(input.playbook.spec.secret.name, input.namespace);
  try {
    const result = await executeChild(rotationWorkflow, {
      workflowId,
      args: [input],
      // The rotation finishes (or compensates) on its own even if the launcher is terminated.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `scheduled rotation of ${input.playbook.spec.secret.name}`,
    });
    return { outcome: 'rotated', result };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const reason = `a rotation of ${input.playbook.spec.secret.name} is already running (${workflowId}); this scheduled run was skipped`;
      log.warn(reason);
      return { outcome: 'skipped', reason };
    }
    throw err;
  }
}
