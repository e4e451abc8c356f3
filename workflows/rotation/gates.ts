import { condition } from '@temporalio/workflow';
import type { RotationRun } from './run';

/** soak: waits the configured time before revoking (skip-soak ends it early); none for emergencies. */
export async function soakStage(run: RotationRun): Promise<void> {
  if (run.input.emergency || run.spec.soak === 0) {
    run.skip('soak', run.input.emergency ? 'emergency rotation' : 'no soak configured');
    return;
  }
  await run.stage('soak', async () => {
    const ended = await condition(() => run.skipSoak, run.spec.soak);
    if (ended) run.writer.stageNote('soak', 'ended early by skip-soak');
  });
}

/** approval: the optional manual gate before revocation; skipped for a compromised credential. */
export async function approvalStage(run: RotationRun): Promise<void> {
  if (!run.spec.approval.beforeRevoke) {
    run.skip('approval', 'no approval gate');
    return;
  }
  if (run.input.emergency?.compromised) {
    run.skip('approval', 'compromised credential: revoked without waiting for approval');
    return;
  }
  await run.stage('approval', async () => {
    run.writer.awaitingApproval(true);
    run.publish();
    await condition(() => run.approvedBy !== undefined);
    run.writer.awaitingApproval(false);
    run.writer.stageNote('approval', `approved by ${run.approvedBy}`);
  });
}
