import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';

/** Terminates each of these runs still going (its first run, not whatever holds the id now), so a failing test leaves none behind. */
export async function terminateRuns(
  client: Client,
  runs: readonly WorkflowHandleWithFirstExecutionRunId[],
): Promise<void> {
  for (const h of runs)
    await client.workflow
      .getHandle(h.workflowId, h.firstExecutionRunId)
      .terminate('test: done')
      .catch(() => undefined);
}
