import { ApplicationFailure, condition, log } from '@temporalio/workflow';
import type { VersionRef } from '../../core/contracts';
import { WorkflowErrorTypes } from '../../core/failures';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';
import { rootMessage } from '../saga';
import { syncClusters } from './clusters-stage';
import type { RotationRun } from './run';

/** Past this point the old credential is gone: failures retry and alert, never roll back. */
export async function revokeStage(run: RotationRun, versions: { old: VersionRef; fresh: VersionRef }): Promise<void> {
  run.writer.pointOfNoReturn();
  run.saga.clear();
  await run.stage('revoke', async () => {
    if (run.spec.clusters.length > 0)
      await syncClusters(run, run.spec.clusters, 'revoke', { current: versions.fresh, other: null }, 'revoked');
    for (;;) {
      try {
        const evidence = await callActivity(
          acts.revokeVersion,
          profiles.irreversible,
          `revoke: retire version ${versions.old.version} and prove it is refused`,
          {
            store: run.spec.secret.store,
            credential: run.spec.credential,
            rotation: run.rotation,
            revokedVersion: versions.old.version,
            currentVersion: versions.fresh.version,
          },
        );
        // Runs recorded before revocation proof returned nothing here; they replay as before.
        if (evidence) run.writer.revocation(evidence);
        // A revoke that did not take is an alert, not a success: the old credential still opens the door.
        if (evidence && !evidence.rejected)
          throw ApplicationFailure.create({
            type: WorkflowErrorTypes.revocationNotEffective,
            message: `the old credential is still accepted: ${evidence.detail}`,
            nonRetryable: true,
          });
        if (evidence) run.writer.stageNote('revoke', evidence.detail);
        run.writer.attention(undefined);
        return;
      } catch (err) {
        const attention = `revoke keeps failing: ${rootMessage(err)}; fix the cause and send retry, or wait for the automatic retry`;
        run.writer.attention(attention);
        log.error('revoke needs attention', { secret: run.status.secret, error: rootMessage(err) });
        run.setPhase('needs-attention');
        run.audit('needs-attention', { stage: 'revoke', detail: attention });
        run.retryRequested = false;
        await condition(() => run.retryRequested, '15m');
        run.setPhase('revoke');
      }
    }
  });
}

/** finalize: the outcome is recorded in the store. */
export async function finalizeStage(run: RotationRun, current: VersionRef): Promise<void> {
  await run.stage('finalize', () =>
    callActivity(acts.finalizeRotation, profiles.irreversible, 'finalize: record outcome in the store', {
      store: run.spec.secret.store,
      rotation: run.rotation,
      outcome: 'rotated',
      currentVersion: current.version,
    }),
  );
}
