/**
 * What a test run leaves running on the stack's Temporal server: rotations held at a gate when a
 * test ended, children an aborted incident abandoned, runs on task queues no worker polls any more.
 * The dev server keeps its file across restarts, so without this they pile up run after run (97
 * were running on one machine after a day), their timers firing on queues nobody polls.
 */
import type { Client } from '@temporalio/client';

/** Why a run is terminated here, as its history shows it. */
export const leftoverReason = 'npm test: left running by the test run that started it';

/**
 * Terminates every run started at or after `since` that is still running on a task queue `ours`
 * accepts: only what this test run started, and never the stack's own workers' queue (the caller
 * leaves it out), so whatever a developer runs there beside the tests stays. Returns how many runs
 * were terminated.
 */
export async function terminateLeftovers(
  client: Client,
  since: Date,
  ours: (taskQueue: string) => boolean,
): Promise<number> {
  const query = `ExecutionStatus = 'Running' AND StartTime >= '${since.toISOString()}'`;
  let terminated = 0;
  for await (const run of client.workflow.list({ query })) {
    if (!ours(run.taskQueue)) continue;
    const done = await client.workflow
      .getHandle(run.workflowId, run.runId)
      .terminate(leftoverReason)
      .then(
        () => true,
        // Ended meanwhile (a parent's close policy, its own end): nothing to do.
        () => false,
      );
    if (done) terminated++;
  }
  return terminated;
}
