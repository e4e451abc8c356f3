import { ApplicationFailure } from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import { kindsCheckedBeforeRevoke } from '../../core/contracts';
import type { VersionRef } from '../../core/contracts';
import { WorkflowErrorTypes } from '../../core/failures';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';
import { untilDone } from './attention';
import { continueIfLong } from './continuation';
import { syncClusters } from './clusters-stage';
import type { RotationRun } from './run';

type Versions = { old: VersionRef; fresh: VersionRef };

/** One attempt of a post-revoke step: bounded by `timeouts.revoke`, retried inside it. */
function attemptOptions(run: RotationRun, proofMs = 0): ActivityOptions {
  return {
    ...profiles.irreversible,
    // A revoke proves the old credential refused, which may take the kind's proofTimeout.
    startToCloseTimeout: 60_000 + proofMs,
    scheduleToCloseTimeout: run.stageTimeout('revoke'),
  };
}

/**
 * Past this point the old credential is gone: failures alert (needs-attention) and retry, never
 * roll back. Clusters, the credential's target and finalize all retry in the same loop, so an
 * unreachable cluster or a permanent 403 never abandons the revocation.
 */
export async function revokeStage(run: RotationRun, versions: Versions): Promise<void> {
  run.writer.pointOfNoReturn();
  run.saga.clear();
  await run.stage('revoke', () =>
    untilDone(
      run,
      'revoke',
      (attempt) => revokeAttempt(run, versions, attempt),
      () => continueIfLong(run, 'revoke', versions),
    ),
  );
}

/**
 * One attempt: the clusters not yet revoked drop the old version, then the old credential is
 * revoked at its target and proven refused (unless an earlier attempt proved it). The target does
 * not wait for a failing cluster: its consumers read the new version since promote.
 */
async function revokeAttempt(run: RotationRun, versions: Versions, attempt: number): Promise<void> {
  const revoked = new Set(run.status.clusters.filter((c) => c.phase === 'revoked').map((c) => c.name));
  const left = run.spec.clusters.filter((c) => !revoked.has(c.name));
  // A CA's leaves may still need the old CA: nothing (no cluster either) drops it before they are gone.
  if (kindsCheckedBeforeRevoke.includes(run.spec.credential.kind) && !run.status.revocation?.rejected)
    await callActivity(acts.checkOldUnused, attemptOptions(run), 'revoke: check nothing still needs the old version', {
      admission: run.admission,
      store: run.spec.secret.store,
      credential: run.spec.credential,
      rotation: run.rotation,
      revokedVersion: versions.old.version,
      currentVersion: versions.fresh.version,
    });
  let clusterFailure: Error | undefined;
  if (left.length > 0) {
    await syncClusters(run, left, 'revoke', { current: versions.fresh, other: null }, 'revoked', {
      attempt,
      attemptTimeoutMs: run.stageTimeout('revoke'),
    }).catch((e: unknown) => {
      clusterFailure = e instanceof Error ? e : new Error(String(e));
    });
  }
  if (!run.status.revocation?.rejected) await revokeAtTarget(run, versions);
  if (clusterFailure) throw clusterFailure;
}

async function revokeAtTarget(run: RotationRun, versions: Versions): Promise<void> {
  const credential = run.spec.credential;
  const proofMs = credential.kind === 'aws-iam-access-key' ? credential.proofTimeout : 0;
  const evidence = await callActivity(
    acts.revokeVersion,
    attemptOptions(run, proofMs),
    `revoke: retire version ${versions.old.version} and prove it is refused`,
    {
      admission: run.admission,
      store: run.spec.secret.store,
      credential,
      rotation: run.rotation,
      revokedVersion: versions.old.version,
      currentVersion: versions.fresh.version,
    },
  );
  run.writer.revocation(evidence);
  // A revoke that did not take is an alert, not a success: the old credential still opens the door.
  if (!evidence.rejected)
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.revocationNotEffective,
      message: `the old credential is still accepted: ${evidence.detail}`,
      nonRetryable: true,
    });
  run.writer.stageNote('revoke', evidence.detail);
}

/** finalize: the outcome is recorded in the store; past the point of no return it retries and alerts too. */
export async function finalizeStage(run: RotationRun, versions: Versions): Promise<void> {
  await run.stage('finalize', () =>
    untilDone(
      run,
      'finalize',
      () =>
        callActivity(acts.finalizeRotation, attemptOptions(run), 'finalize: record outcome in the store', {
          admission: run.admission,
          store: run.spec.secret.store,
          rotation: run.rotation,
          outcome: 'rotated',
          currentVersion: versions.fresh.version,
        }),
      () => continueIfLong(run, 'finalize', versions),
    ),
  );
}
