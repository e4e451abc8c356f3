import type { Client } from '@temporalio/client';
import { abortUpdate, statusQuery } from '../workflows/definitions';

export interface Superseded {
  /** What happened to the running rotation. */
  action: 'aborted-and-rolled-back' | 'waited-past-point-of-no-return' | 'already-finished';
  runId: string;
  trigger: string;
}

/**
 * Makes way for an emergency rotation of a secret that is already rotating. Before the point of no
 * return the running rotation is aborted, and its compensation finishes before this returns, so
 * the emergency run starts from a clean store. Past the point of no return it is only minutes from
 * done and revoking the very credential the emergency wants gone: it is left to finish. Never
 * leaves two rotations of one secret running, nor one half-done.
 */
export async function supersede(client: Client, workflowId: string, by: string, reason: string): Promise<Superseded> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const runId = description.runId;
  if (description.status.name !== 'RUNNING') return { action: 'already-finished', runId, trigger: '' };
  const status = await handle.query(statusQuery);
  let action: Superseded['action'] = 'waited-past-point-of-no-return';
  if (!status.pointOfNoReturn) {
    try {
      await handle.executeUpdate(abortUpdate, {
        args: [{ by, reason: `superseded by an emergency rotation: ${reason}` }],
      });
      action = 'aborted-and-rolled-back';
    } catch {
      // The validator refuses once revocation began; then it finishes forward, as above.
    }
  }
  await handle.result().catch(() => undefined);
  return { action, runId, trigger: status.trigger };
}
