import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { uiLink } from '../adapters/temporal/connection';
import { statusQuery } from '../workflows/definitions';
import { CliError, ExitCode } from './exit-codes';
import { exitCodeOf, innermostMessage, outcomeOfFailure } from './outcome';
import { err, jsonLine, out } from './output';
import { createView } from './views';
import type { FinalReport } from './views';
import type { RotationResult, RotationStatus } from '../core/status';

const pollMs = 500;
const queryDeadlineMs = 5_000;

type Closed = { ok: true; result: RotationResult } | { ok: false; error: unknown };

async function queryStatus(client: Client, handle: WorkflowHandle, deadlineMs: number): Promise<RotationStatus> {
  // A deadline, because a query waits for a worker and none may be running.
  return client.connection.withDeadline(Date.now() + deadlineMs, () => handle.query(statusQuery));
}

function queryProblem(e: unknown, taskQueue: string): string {
  const text = innermostMessage(e);
  if (/deadline|timed? ?out/i.test(text))
    return `no answer from a worker on task queue '${taskQueue}' — is a rotor worker running (npm run worker)?`;
  return `status query failed: ${text}`;
}

/** The run to follow (the latest when `runId` is not given) and its task queue. */
async function describeRun(
  client: Client,
  workflowId: string,
  runId: string | undefined,
): Promise<{ runId: string; taskQueue: string }> {
  try {
    const d = await client.workflow.getHandle(workflowId, runId).describe();
    return { runId: d.runId, taskQueue: d.taskQueue };
  } catch (e) {
    if (e instanceof WorkflowNotFoundError)
      throw new CliError(`rotor: no rotation found: workflow ${workflowId} does not exist`);
    throw e;
  }
}

/**
 * Follows one rotation run until it closes — or stops needing only patience (needs-attention) —
 * drawing progress from the status query, and returns the exit code of its outcome.
 */
export async function follow(
  client: Client,
  workflowId: string,
  opts: { json: boolean; runId?: string; announce?: boolean; taskQueue?: string },
): Promise<ExitCode> {
  // The run just started (rotate --wait) is known: no describe round trip before following it.
  const { runId, taskQueue } =
    opts.runId && opts.taskQueue
      ? { runId: opts.runId, taskQueue: opts.taskQueue }
      : await describeRun(client, workflowId, opts.runId);
  if (opts.announce) {
    const link = uiLink(workflowId, runId);
    if (opts.json) jsonLine({ event: 'watching', workflowId, runId, uiLink: link });
    else out(`watching ${workflowId} run ${runId}\n  ${link}`);
  }
  // Pinned to this run: a later rotation of the same secret is a different story.
  const handle = client.workflow.getHandle(workflowId, runId);
  const view = createView(opts.json, { workflowId, runId });
  const closed: Promise<Closed> = handle.result().then(
    (result: RotationResult) => ({ ok: true as const, result }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const interrupted = () => {
    view.stop();
    err(`\nstopped watching; the rotation goes on — follow it again with: rotor watch ${workflowId}`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    let last: RotationStatus | undefined;
    let queriedAt: number | undefined; // the history length the last answered query saw
    for (;;) {
      // The status changes only with the run's history: while its length stands still, the last
      // answer is current and no query task is sent to the worker the rotation itself is waiting for.
      const length = await handle.describe().then(
        (d) => d.historyLength,
        () => undefined,
      );
      if (last && length !== undefined && length === queriedAt) {
        view.status(last);
      } else {
        // A query in flight does not hold up the end: once the run closes, its result answers.
        const answer = await Promise.race([
          queryStatus(client, handle, queryDeadlineMs).then(
            (status) => ({ status }),
            (error: unknown) => ({ error }),
          ),
          closed.then(() => undefined),
        ]);
        if (answer && 'status' in answer) {
          last = answer.status;
          queriedAt = length;
          view.note(undefined);
          view.status(last);
        } else if (answer) view.note(queryProblem(answer.error, taskQueue));
      }
      const secret = last?.secret ?? workflowId;
      if (last?.phase === 'needs-attention') {
        const report: FinalReport = {
          workflowId,
          runId,
          secret,
          outcome: 'needs-attention',
          exitCode: ExitCode.attention,
        };
        if (last.attention) report.attention = last.attention;
        view.result(report);
        return report.exitCode;
      }
      const done = await Promise.race([closed, sleep(pollMs)]);
      if (!done) continue;
      if (done.ok) {
        view.status(done.result.status);
        const { previous, current } = done.result;
        view.result({
          workflowId,
          runId,
          secret: done.result.secret,
          outcome: 'rotated',
          exitCode: ExitCode.ok,
          previous,
          current,
        });
        return ExitCode.ok;
      }
      const failure = outcomeOfFailure(done.error);
      if (!failure) throw done.error;
      // Best effort: the closing status (compensation steps) needs a worker to replay the run.
      const final = await queryStatus(client, handle, 3_000).catch(() => undefined);
      if (final) view.status(final);
      const exitCode = exitCodeOf(failure.outcome);
      view.result({
        workflowId,
        runId,
        secret: final?.secret ?? secret,
        outcome: failure.outcome,
        exitCode,
        message: failure.message,
        failureChain: failure.chain,
      });
      return exitCode;
    }
  } finally {
    process.off('SIGINT', interrupted);
    view.stop();
  }
}
