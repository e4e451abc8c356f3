import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { foreignRunProblems } from '../../core/foreign-run';

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
 * rotor's (`why`): any Temporal client can start a workflow under `rotate/…` on a queue of its own
 * and so hold off that secret's rotations. `by` names who terminates it (the run's termination
 * reason). Returns the line to show.
 */
export async function terminateSquatter(
  client: Client,
  d: WorkflowExecutionDescription,
  why: string,
  by: string,
): Promise<string> {
  const what = `a workflow that held ${d.workflowId} and is not rotor's rotation (${why})`;
  await client.workflow.getHandle(d.workflowId, d.runId).terminate(`${by}: terminated ${what}`);
  return `terminated ${what}`;
}

/**
 * When `workflowId` is held by a running workflow that is not rotor's rotation on `taskQueue`, that
 * run is terminated and the line to show returned; undefined when the id is free or a rotation of
 * rotor's holds it.
 */
export async function evictRotationSquatter(
  client: Client,
  workflowId: string,
  taskQueue: string,
  by: string,
): Promise<string | undefined> {
  const d = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch((e: unknown) => {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    });
  const why = d?.status.name === 'RUNNING' ? notRotorsRotation(d, taskQueue) : undefined;
  return d && why ? terminateSquatter(client, d, why, by) : undefined;
}
