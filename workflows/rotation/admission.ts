import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, CancellationScope, log, startChild, workflowInfo } from '@temporalio/workflow';
import type { Admission } from '../../activities/admission';
import type { ChildWorkflowHandle } from '@temporalio/workflow';
import { WorkflowErrorTypes } from '../../core/failures';
import { storeLockWorkflowId } from '../../core/policy/lock';
import { formatRefusal } from '../../core/policy/refusal';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';
import { rootMessage } from '../saga';
import { releaseLockSignal, storeLockWorkflow } from '../store-lock';
import type { RotationRun } from './run';

export type StoreLock = ChildWorkflowHandle<typeof storeLockWorkflow>;

/**
 * The admin policy's verdict, then the lock on the store location, both at plan before anything
 * changes. A refusal fails the run as PolicyRefused (or StoreLocationLocked) naming every field
 * and rule; the phase becomes `refused`.
 */
export async function admit(run: RotationRun): Promise<StoreLock> {
  try {
    return await run.stage(
      'plan',
      async () => {
        const verdict = await policyVerdict(run);
        run.gates.separationOfDuties = verdict.separationOfDuties;
        return lockStore(run, verdict.lockKey);
      },
      // The plan stage goes on in forwardStages: it completes there.
      { detail: 'checking the admin policy and locking the store location', completes: false },
    );
  } catch (err) {
    run.writer.failure(rootMessage(err));
    run.setPhase('refused');
    run.audit('rotation-rolled-back', { outcome: 'refused', detail: rootMessage(err) });
    throw err;
  }
}

/** The policy's verdict and grant for this run; a refusal fails it as PolicyRefused naming every rule. */
async function policyVerdict(run: RotationRun): Promise<Admission> {
  const verdict = await callActivity(
    acts.admitRotation,
    profiles.store,
    'plan: check the playbook against the admin policy',
    {
      playbook: run.input.playbook,
      playbookFile: run.input.playbookFile,
      requestedBy: run.input.requestedBy,
      // Only a controller-started run has one; older inputs pass nothing new.
      ...(run.input.namespace !== undefined ? { namespace: run.input.namespace } : {}),
      // What a controller attestation covers besides (identity: kubernetes).
      trigger: run.input.trigger,
      ...(run.input.reason !== undefined ? { reason: run.input.reason } : {}),
      ...(run.input.emergency !== undefined ? { emergency: run.input.emergency } : {}),
      ...(run.input.attestation !== undefined ? { attestation: run.input.attestation } : {}),
    },
  );
  if (verdict.refusals.length > 0 || !verdict.grant)
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.policyRefused,
      message: `refused by the rotor policy, nothing was changed:\n${verdict.refusals.map(formatRefusal).join('\n')}`,
      nonRetryable: true,
      details: [verdict.refusals],
    });
  run.grant = verdict.grant;
  run.lockKey = verdict.lockKey;
  // Operator actions must then come through rotor's controller (handlers.ts); older results lack it.
  run.gates.attestedActions = verdict.identity === 'kubernetes';
  // Older results lack it: a compromised rotation then skips its approval gate, as it always did.
  run.gates.compromiseApproval = verdict.compromiseApproval === 'required';
  return verdict;
}

/**
 * A continuation is admitted again: it must continue a rotation of this worker (a foreign workflow
 * can continue as new into rotationWorkflow), about the same workflow, and the policy must still
 * admit its playbook; the new run gets its own grant.
 */
export async function readmit(run: RotationRun, previousRunId: string): Promise<void> {
  const { workflowId } = workflowInfo();
  if (run.rotation.workflowId !== workflowId)
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.resumeWithoutRotation,
      message: `a continuation of ${workflowId} carries the rotation ${run.rotation.workflowId}; nothing was changed`,
      nonRetryable: true,
    });
  await callActivity(acts.verifyContinuation, profiles.store, 'check the run this one continues', {
    workflowId,
    runId: previousRunId,
  });
  await policyVerdict(run);
}

/**
 * Takes the store location's lock. An id already held is either another rotation's lock
 * (StoreLocationLocked) or a workflow that is not rotor's, which the activity terminates; then the
 * lock is taken again, once.
 */
async function lockStore(run: RotationRun, key: string, again = false): Promise<StoreLock> {
  const workflowId = storeLockWorkflowId(key);
  try {
    // Not cancelled with the rotation: a cancel past the point of no return does not stop revoke
    // (rotation.ts finishForward), and the lock is released when the rotation ends either way.
    return await CancellationScope.nonCancellable(() =>
      startChild(storeLockWorkflow, {
        workflowId,
        args: [{ key, holder: run.rotation.workflowId }],
        staticSummary: `lock on ${key} held by ${run.rotation.workflowId}`,
      }),
    );
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    const holder = again
      ? ({ held: 'rotor' } as const)
      : await callActivity(
          acts.evictLockSquatter,
          profiles.store,
          "plan: free the store lock's id from a workflow that is not rotor's",
          { admission: run.admission, store: run.spec.secret.store },
        );
    if ('evicted' in holder) {
      const detail = `terminated a workflow that held the store lock's id ${workflowId} and is not rotor's: ${holder.evicted}`;
      log.warn(detail, { secret: run.status.secret });
      run.audit('lock-squatter-evicted', { stage: 'plan', detail });
    }
    if (!('held' in holder)) return lockStore(run, key, true);
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.storeLocked,
      message: `store location ${key} is being rotated by another rotation (lock ${workflowId}); nothing was changed — wait until it ends`,
      nonRetryable: true,
    });
  }
}

/** Ends the lock before the rotation ends, so a rotation started right after finds the location free. */
export function releaseStore(lock: StoreLock): Promise<void> {
  return CancellationScope.nonCancellable(async () => {
    await lock.signal(releaseLockSignal, { holderRunId: workflowInfo().runId });
    await lock.result();
  });
}

/**
 * A continuation (past the point of no return) takes its store lock again. If another rotation
 * took the location in between, revocation goes on without the lock: it only retires a version
 * that is no longer current, which the other rotation does not touch.
 */
export async function relock(run: RotationRun): Promise<StoreLock | undefined> {
  if (!run.lockKey) return undefined;
  try {
    return await lockStore(run, run.lockKey);
  } catch (e) {
    log.warn('continuation without the store lock', { secret: run.status.secret, error: rootMessage(e) });
    return undefined;
  }
}
