import { ApplicationFailure, CancellationScope, isCancellation, log } from '@temporalio/workflow';
import { WorkflowErrorTypes } from '../../core/failures';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';
import { rootMessage } from '../saga';
import type { RotationRun } from './run';

/** Why the run is rolling back, in the words the status, the audit trail and the failure use. */
function causeOf(run: RotationRun, err: unknown, aborted: boolean): string {
  const failedStage = run.writer.interruptedStage();
  return aborted
    ? `aborted by ${run.gates.abortedBy ?? 'workflow cancellation'}${failedStage ? ` during ${failedStage.name}` : ''}`
    : `${failedStage?.name ?? 'a stage'} failed: ${rootMessage(err)}`;
}

/** Bookkeeping, not an undo: its failure is reported without turning a clean rollback into "manual repair". */
async function recordRollback(run: RotationRun): Promise<string | undefined> {
  const original = run.original;
  if (!original) return undefined;
  let recordFailure: string | undefined;
  await CancellationScope.nonCancellable(async () => {
    await callActivity(acts.finalizeRotation, profiles.undo, 'finalize: record the rollback in the store', {
      admission: run.admission,
      store: run.spec.secret.store,
      rotation: run.rotation,
      outcome: 'rolled-back',
      currentVersion: original.version,
    }).catch((e: unknown) => {
      recordFailure = rootMessage(e);
      run.writer.undo({ step: 'record rollback', ok: false, error: recordFailure });
    });
  });
  return recordFailure;
}

/** Runs every registered undo last-first, records the outcome, and fails the run naming the cause. */
export async function rollBack(run: RotationRun, err: unknown): Promise<never> {
  const aborted = run.gates.abortedBy !== undefined || isCancellation(err);
  const cause = causeOf(run, err, aborted);
  const interrupted = run.writer.interruptedStage();
  if (interrupted?.state === 'running') run.writer.stageFailed(interrupted.name, Date.now(), cause);
  run.writer.failure(cause);
  run.setPhase('compensating');
  log.warn('rotation compensating', { secret: run.status.secret, cause });
  run.audit('compensation-started', { detail: cause, ...(run.gates.abortedBy ? { by: run.gates.abortedBy } : {}) });

  const reports = await run.saga.compensate((r) => {
    run.writer.undo(r);
    run.audit(r.ok ? 'undo-completed' : 'undo-failed', { stage: r.step, ...(r.error ? { detail: r.error } : {}) });
    run.publish();
  });
  const failedUndos = reports.filter((r) => !r.ok);
  const recordFailure = await recordRollback(run);
  const details = [{ cause, undos: reports }];
  const errorCause = err instanceof Error ? err : undefined;

  if (failedUndos.length > 0) {
    run.setPhase('compensation-failed');
    run.audit('compensation-failed', { outcome: 'compensation-failed', detail: cause });
    const undoText = failedUndos.map((u) => `undo '${u.step}' failed: ${u.error ?? 'unknown'}`).join('; ');
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.compensationFailed,
      message: `rotation of ${run.status.secret} could not be fully rolled back — ${undoText}; original cause: ${cause}. Manual repair needed.`,
      nonRetryable: true,
      cause: errorCause,
      details,
    });
  }
  run.writer.versions({ current: run.original, pending: undefined });
  run.setPhase('rolled-back');
  run.audit('rotation-rolled-back', {
    outcome: aborted ? 'aborted' : 'rolled-back',
    detail: cause,
    durationMs: Date.now() - run.status.startedAt,
  });
  const restored = run.original ? 'the old version is current again' : 'nothing was changed';
  throw ApplicationFailure.create({
    type: aborted ? WorkflowErrorTypes.aborted : WorkflowErrorTypes.rolledBack,
    message: `rotation of ${run.status.secret} rolled back: ${cause}; ${restored}${recordFailure ? ` (recording the rollback in the store failed: ${recordFailure})` : ''}`,
    nonRetryable: true,
    cause: errorCause,
    details,
  });
}
