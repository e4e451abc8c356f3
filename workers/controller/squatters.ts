import type { WorkflowExecutionDescription } from '@temporalio/client';
import { foreignRunProblems } from '../../core/foreign-run';
import type { ControllerDeps } from './deps';

/**
 * Why the described run under one of rotor's rotation ids is not a rotation of rotor's (another
 * workflow type, or another task queue, where foreign code runs), or undefined when it is one.
 */
export function notRotorsRotation(d: WorkflowExecutionDescription, taskQueue: string): string | undefined {
  const problems = foreignRunProblems(d, { type: 'rotationWorkflow', taskQueue });
  return problems.length > 0 ? problems.join(', ') : undefined;
}

/**
 * Terminates the described run (that run only), which holds a rotation id of rotor's and is not
 * rotor's (`why`): any Temporal client can start a workflow under `rotate/<namespace>/<secret>` on a
 * queue of its own and so hold off that playbook's rotations. Returns what the request's status says.
 */
export async function evictSquatter(
  deps: ControllerDeps,
  d: WorkflowExecutionDescription,
  why: string,
): Promise<string> {
  const what = `a workflow that held ${d.workflowId} and is not rotor's rotation (${why})`;
  await deps.client.workflow.getHandle(d.workflowId, d.runId).terminate(`rotor's controller: terminated ${what}`);
  return `terminated ${what}`;
}
