import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { foreignRunProblems } from '../../core/foreign-run';
import { rotationWorkflowType } from '../../core/ui-views';

/** The latest run under `workflowId`, or undefined when there has never been one. */
export function describeIfAny(client: Client, workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
  return client.workflow
    .getHandle(workflowId)
    .describe()
    .catch((e: unknown) => {
      if (e instanceof WorkflowNotFoundError) return undefined;
      throw e;
    });
}

/**
 * Why the described run under one of rotor's rotation ids is not a rotation of rotor's (another
 * workflow type, or another task queue, where foreign code runs), or undefined when it is one.
 */
export function notRotorsRotation(d: WorkflowExecutionDescription, taskQueue: string): string | undefined {
  const problems = foreignRunProblems(d, { type: rotationWorkflowType, taskQueue });
  return problems.length > 0 ? problems.join(', ') : undefined;
}

/** What a squatter of a rotation id was, for the line that says it was terminated. */
export const squatterOf = (workflowId: string, why: string): string =>
  `a workflow that held ${workflowId} and is not rotor's rotation (${why})`;

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
  const line = `terminated ${squatterOf(d.workflowId, why)}`;
  await client.workflow.getHandle(d.workflowId, d.runId).terminate(`${by}: ${line}`);
  return line;
}

/** Who holds one of rotor's workflow ids, as {@link evictSquatter} found and left it. */
export type IdHolder =
  /** A run of rotor's (another rotation, or its lock): left alone. */
  | { held: 'rotor' }
  /** A workflow that is not rotor's held the id and was terminated: why it was not rotor's. */
  | { evicted: string }
  /** Nothing runs under the id any more: take it again. */
  | { free: true };

/**
 * Frees `workflowId` from a running workflow that is not rotor's `expected` type on rotor's task
 * queue: that run, and only that run, is terminated with `reason(why)`. A run of rotor's is left
 * alone.
 */
export async function evictSquatter(
  client: Client,
  workflowId: string,
  expected: { type: string; taskQueue: string },
  reason: (why: string) => string,
): Promise<IdHolder> {
  const d = await describeIfAny(client, workflowId);
  if (d?.status.name !== 'RUNNING') return { free: true };
  const problems = foreignRunProblems(d, expected);
  if (problems.length === 0) return { held: 'rotor' };
  const why = problems.join(', ');
  await client.workflow.getHandle(workflowId, d.runId).terminate(reason(why));
  return { evicted: why };
}
