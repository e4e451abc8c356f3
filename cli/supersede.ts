import type { Client } from '@temporalio/client';
import { abortUpdate, retrySignal, statusQuery } from '../workflows/definitions';
import { CliError, ExitCode } from './exit-codes';

export interface Superseded {
  /** What happened to the running rotation. */
  action: 'aborted-and-rolled-back' | 'waited-past-point-of-no-return' | 'already-finished';
  runId: string;
  trigger: string;
}

/** How long an emergency waits for the run it supersedes, unless `--supersede-wait` says otherwise. */
export const defaultSupersedeWaitMs = 10 * 60_000;

/**
 * Makes way for an emergency rotation of a secret that is already rotating. Before the point of no
 * return the running rotation is aborted, and its compensation finishes before this returns, so
 * the emergency run starts from a clean store. Past the point of no return it is revoking the very
 * credential the emergency wants gone: it is left to finish, and when it is stuck in
 * needs-attention it is told to retry now. Never waits longer than `waitMs`: then it fails with
 * exit 3 naming the run and why it is stuck, and no emergency run starts. Never leaves two
 * rotations of one secret running, nor one half-done.
 */
export async function supersede(
  client: Client,
  workflowId: string,
  action: { by: string; reason: string },
  waitMs = defaultSupersedeWaitMs,
): Promise<Superseded> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const runId = description.runId;
  if (description.status.name !== 'RUNNING') return { action: 'already-finished', runId, trigger: '' };
  const status = await handle.query(statusQuery);
  let done: Superseded['action'] = 'waited-past-point-of-no-return';
  if (!status.pointOfNoReturn) {
    try {
      await handle.executeUpdate(abortUpdate, {
        args: [{ by: action.by, reason: `superseded by an emergency rotation: ${action.reason}` }],
      });
      done = 'aborted-and-rolled-back';
    } catch {
      // The validator refuses once revocation began; then it finishes forward, as above.
    }
  }
  if (done === 'waited-past-point-of-no-return' && status.phase === 'needs-attention') {
    await handle.signal(retrySignal, { by: action.by, reason: `emergency rotation waiting: ${action.reason}` });
  }
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    handle.result().then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
  ]).finally(() => clearTimeout(timer));
  if (!finished) throw await stillRunning(client, workflowId, runId, done, waitMs);
  return { action: done, runId, trigger: status.trigger };
}

/** Exit 3: the superseded run did not end in time; names it, what it is doing and what to do. */
async function stillRunning(
  client: Client,
  workflowId: string,
  runId: string,
  action: Superseded['action'],
  waitMs: number,
): Promise<CliError> {
  const now = await client.workflow
    .getHandle(workflowId)
    .query(statusQuery)
    .catch(() => undefined);
  const doing =
    action === 'aborted-and-rolled-back' ? 'is still compensating' : 'is past the point of no return and still running';
  const why = now?.attention ? `: ${now.attention}` : now ? ` (phase ${now.phase})` : '';
  return new CliError(
    `rotor: the running rotation ${workflowId} (run ${runId}) ${doing} after ${Math.round(waitMs / 1000)}s${why}\n` +
      `  the emergency rotation was NOT started. Fix the cause, send rotor retry, or wait (rotor watch), then run this command again.`,
    ExitCode.attention,
  );
}
