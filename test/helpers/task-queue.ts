import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

/** Identities polling `taskQueue` for `type` tasks, as the server reports them, sorted. */
export async function taskQueuePollers(
  client: Client,
  taskQueue: string,
  type: temporal.api.enums.v1.TaskQueueType,
): Promise<string[]> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: type,
  });
  return (res.pollers ?? []).map((p) => p.identity ?? '').sort();
}
