/**
 * `npm test` terminates what its tests left running on the stack's Temporal server
 * (dev/test-leftovers.ts): runs started during the test run, on the queues it names, and nothing
 * started before it or on a queue it leaves out. Against the stack's Temporal; the queues are this
 * file's own, so files running beside it are never touched.
 */
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { leftoverReason, terminateLeftovers } from '../../dev/test-leftovers';
import { terminateRuns } from '../helpers/leftover-runs';
import { useStackEnv } from '../helpers/stack-env';

const env = useStackEnv();
let client: Client;
const prefix = `leftovers-${randomUUID().slice(0, 8)}`;
const started: WorkflowHandleWithFirstExecutionRunId[] = [];

beforeAll(async () => {
  client = await connectClient({ ...process.env, ...env });
});
afterAll(async () => {
  await terminateRuns(client, started);
  await client?.connection.close();
});

/** A run on `queue`, where no worker polls: it stays running. */
async function leftOn(queue: string): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const h = await client.workflow.start('leftOver', {
    taskQueue: `${prefix}-${queue}`,
    workflowId: `${prefix}-${randomUUID()}`,
  });
  started.push(h);
  return h;
}

const statusOf = async (h: WorkflowHandleWithFirstExecutionRunId) =>
  (await client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).describe()).status.name;

async function reasonOf(h: WorkflowHandleWithFirstExecutionRunId): Promise<string | undefined> {
  const history = await client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).fetchHistory();
  const e = history.events?.find((x) => x.workflowExecutionTerminatedEventAttributes);
  return e?.workflowExecutionTerminatedEventAttributes?.reason ?? undefined;
}

describe('what a test run leaves running', () => {
  it('is terminated when the run started it on one of its queues; earlier runs and other queues stay', async () => {
    const before = await leftOn('test');
    // Visibility records start times in whole milliseconds; the next run starts strictly later.
    await new Promise((r) => setTimeout(r, 50));
    const since = new Date();
    const first = await leftOn('test');
    const second = await leftOn('test');
    const kept = await leftOn('stack');
    const ours = (q: string) => q === `${prefix}-test`;
    // Visibility is eventually consistent: wait until the list shows the three runs started since.
    for (let i = 0; i < 100; i++) {
      const { count } = await client.workflow.count(
        `WorkflowId STARTS_WITH '${prefix}' AND StartTime >= '${since.toISOString()}'`,
      );
      if (count >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await terminateLeftovers(client, since, ours)).toBe(2);
    expect(await Promise.all([first, second].map(statusOf))).toEqual(['TERMINATED', 'TERMINATED']);
    expect(await reasonOf(first)).toBe(leftoverReason);
    expect(await statusOf(before)).toBe('RUNNING');
    expect(await statusOf(kept)).toBe('RUNNING');
    // Nothing left of its own: a second pass terminates nothing.
    expect(await terminateLeftovers(client, since, ours)).toBe(0);
  });
});
