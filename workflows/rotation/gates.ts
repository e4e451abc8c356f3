import { ApplicationFailure, condition } from '@temporalio/workflow';
import { WorkflowErrorTypes } from '../../core/failures';
import type { RotationRun } from './run';

/** soak: waits the configured time before revoking (skip-soak ends it early); none for emergencies. */
export async function soakStage(run: RotationRun): Promise<void> {
  if (run.input.emergency || run.spec.soak === 0) {
    run.skip('soak', run.input.emergency ? 'emergency rotation' : 'no soak configured');
    return;
  }
  await run.stage('soak', async () => {
    const ended = await condition(() => run.gates.skipSoak, run.spec.soak);
    if (ended) run.writer.stageNote('soak', 'ended early by skip-soak');
  });
}

/**
 * approval: the optional manual gate before revocation; a compromised credential skips it unless
 * the policy says `compromise.approval: required`.
 */
export async function approvalStage(run: RotationRun): Promise<void> {
  if (!run.spec.approval.beforeRevoke) {
    run.skip('approval', 'no approval gate');
    return;
  }
  if (run.input.emergency?.compromised && !run.gates.compromiseApproval) {
    run.skip('approval', 'compromised credential: revoked without waiting for approval');
    return;
  }
  await run.stage('approval', async () => {
    run.writer.awaitingApproval(true);
    run.publish();
    const approved = () => run.gates.approvedBy !== undefined;
    if (!(await condition(approved, run.spec.approval.timeout))) approvalTimedOut(run);
    run.writer.awaitingApproval(false);
    run.writer.stageNote('approval', `approved by ${run.gates.approvedBy}`);
  });
}

/** No approval within `approval.timeout`: alert, then fail into rollback (nothing was revoked yet). */
function approvalTimedOut(run: RotationRun): never {
  const hours = Math.round(run.spec.approval.timeout / 360_000) / 10;
  const text = `no approval within ${hours}h (approval.timeout): rolling back; the old version stays current`;
  run.writer.awaitingApproval(false);
  run.writer.attention(text);
  run.audit('approval-timed-out', { stage: 'approval', detail: text });
  throw ApplicationFailure.create({ type: WorkflowErrorTypes.approvalTimedOut, message: text, nonRetryable: true });
}
