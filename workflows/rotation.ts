import { ApplicationFailure, CancellationScope, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { VersionRef } from '../core/contracts';
import { WorkflowErrorTypes } from '../core/failures';
import { formatProblem } from '../core/playbook/validate';
import type { CheckedPlaybook } from '../core/playbook/validate';
import { initialStatus } from '../core/status';
import type { RotationInput, RotationResult, RotationResume } from '../core/status';
import { statusQuery } from './definitions';
import { acts, callActivity } from './activity-calls';
import { profiles } from './profiles';
import { admit, readmit, releaseStore, relock } from './rotation/admission';
import { forwardStages } from './rotation/forward';
import { registerHandlers } from './rotation/handlers';
import { finalizeStage, revokeStage } from './rotation/revoke';
import { rollBack } from './rotation/rollback';
import { RotationRun } from './rotation/run';

/**
 * The playbook as validated where the result is recorded in history: by an activity, so a later
 * change to a schema default cannot change what a replay computes.
 */
async function checkedPlaybook(input: RotationInput): Promise<CheckedPlaybook> {
  const file = input.playbookFile ?? 'workflow input';
  return callActivity(acts.checkPlaybook, profiles.store, 'validate the playbook', { playbook: input.playbook, file });
}

/**
 * One staged rotation of one secret: plan → create → distribute → verify → canary → promote →
 * soak → approval → revoke → finalize. Every step that changes the world registers its undo as
 * soon as it succeeds; a failure or an abort before revocation rolls back last-first. The
 * workflow only ever sees version ids and keyed fingerprints.
 */
export async function rotationWorkflow(input: RotationInput): Promise<RotationResult> {
  // Answer status queries while the playbook is being checked (a query without a handler fails,
  // and the CLI starts asking at once). The input is not validated yet: read it defensively.
  const unchecked = input.playbook as Partial<RotationInput['playbook']> | undefined;
  // A continuation answers with the status it carries.
  const early =
    input.resume?.status ??
    initialStatus({
      secret: unchecked?.spec?.secret?.name ?? workflowInfo().workflowId,
      playbook: unchecked?.metadata?.name ?? '',
      trigger: input.trigger,
      requestedBy: input.requestedBy,
      startedAt: Date.now(),
    });
  setHandler(statusQuery, () => early);
  // Whoever started the run (CLI, schedule, UI, another tool), the worker refuses an invalid
  // playbook with the same messages as `rotor validate`, before anything is changed.
  const checked = await checkedPlaybook(input);
  if ('problems' in checked) {
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.invalidPlaybook,
      message: `invalid playbook, nothing was changed:\n${checked.problems.map(formatProblem).join('\n')}`,
      nonRetryable: true,
    });
  }
  // A continuation goes straight to revoke: only the rotation itself may start one, by continuing
  // as new, and it is admitted again (readmit) before it touches anything.
  const continuedFrom = workflowInfo().continuedFromExecutionRunId;
  if (input.resume && !continuedFrom) {
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.resumeWithoutRotation,
      message:
        'a rotation resumes only as the continuation of its own run; nothing was changed — start it without resume (rotor rotate <playbook>)',
      nonRetryable: true,
    });
  }
  const run = new RotationRun({ ...input, playbook: checked.playbook });
  registerHandlers(run);
  return input.resume && continuedFrom ? resume(run, input.resume, continuedFrom) : rotate(run);
}

/** A continuation of a run past the point of no return: admitted and locked again, then on with its stage. */
async function resume(run: RotationRun, from: RotationResume, continuedFrom: string): Promise<RotationResult> {
  log.info('rotation continued as new', { secret: run.status.secret, stage: from.stage });
  // Past the point of no return from its first step: a cancel does not stop it (see finishForward).
  const lock = await CancellationScope.nonCancellable(async () => {
    await readmit(run, continuedFrom);
    return relock(run);
  });
  try {
    return await finishForward(run, from.versions, from.stage);
  } finally {
    if (lock) await releaseStore(lock);
  }
}

async function rotate(run: RotationRun): Promise<RotationResult> {
  run.setPhase('plan');
  log.info('rotation started', {
    secret: run.status.secret,
    trigger: run.status.trigger,
    requestedBy: run.status.requestedBy,
  });
  run.audit('rotation-started');
  const lock = await admit(run);
  try {
    return await rotateAdmitted(run);
  } finally {
    await releaseStore(lock);
  }
}

async function rotateAdmitted(run: RotationRun): Promise<RotationResult> {
  let versions: { old: VersionRef; fresh: VersionRef };
  try {
    versions = await run.forwardScope.run(() => forwardStages(run));
  } catch (err) {
    return rollBack(run, err);
  }
  return finishForward(run, versions, 'revoke');
}

/**
 * revoke (unless the run resumes at finalize) and finalize: they retry and alert, never roll back,
 * and a Temporal cancel cannot stop them either: past the point of no return the old credential
 * would stay half-revoked (clusters dropped it, its target still accepts it). The cancel is noted
 * in the status and the audit trail; the run finishes forward.
 */
function finishForward(
  run: RotationRun,
  versions: { old: VersionRef; fresh: VersionRef },
  from: RotationResume['stage'],
): Promise<RotationResult> {
  CancellationScope.current().cancelRequested.catch(() => {
    const detail = 'a cancel was requested past the point of no return: ignored, the rotation finishes forward';
    run.writer.stageNote(from, detail);
    run.audit('operator-action', { detail, by: 'workflow cancellation' });
    run.publish();
  });
  return CancellationScope.nonCancellable(() => finishForwardSteps(run, versions, from));
}

async function finishForwardSteps(
  run: RotationRun,
  versions: { old: VersionRef; fresh: VersionRef },
  from: RotationResume['stage'],
): Promise<RotationResult> {
  if (from === 'revoke') await revokeStage(run, versions);
  await finalizeStage(run, versions);
  run.setPhase('rotated');
  run.audit('rotation-completed', {
    outcome: 'rotated',
    durationMs: Date.now() - run.status.startedAt,
    ...(run.status.revocation ? { detail: `revocation proof: ${run.status.revocation.detail}` } : {}),
  });
  return {
    outcome: 'rotated',
    secret: run.status.secret,
    previous: versions.old,
    current: versions.fresh,
    canaries: run.status.canaries,
    status: run.status,
  };
}
