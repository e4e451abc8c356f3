import { sleep } from '@temporalio/workflow';
import type { PlanResult, VersionRef } from '../../core/contracts';
import { acts, callActivity } from '../activity-calls';
import { wavesOf } from '../clusters';
import { profiles } from '../profiles';
import { msUntilWindow } from '../window';
import { syncClusters } from './clusters-stage';
import { compromisedWarning, consumerGateStage, resyncConsumers } from './consumer-gate';
import { approvalStage, soakStage } from './gates';
import type { RotationRun } from './run';

/**
 * The outline of a rotation before the point of no return, read top to bottom: window, plan and
 * create, distribute (canary after the first wave) and verify, promote, soak, approval, and the
 * consumer gate before revoke. Any failure here rolls back (rotation.ts).
 */
export async function forwardStages(run: RotationRun): Promise<{ old: VersionRef; fresh: VersionRef }> {
  await waitForWindow(run);
  const { plan, fresh } = await createStages(run);
  const old = plan.current;
  await distributeStages(run, old, fresh);
  await promoteStage(run, plan, fresh);
  await soakStage(run);
  await approvalStage(run);
  // Last step before the point of no return: every consumer reads the new version as current.
  await consumerGateStage(
    run,
    'revoke',
    { current: fresh, other: old },
    {
      rolloutToken: run.rotation.runId,
      ...(run.clusters.swappedAt !== undefined ? { swappedAt: run.clusters.swappedAt } : {}),
    },
  );
  return { old, fresh };
}

/** Scheduled runs with a window wait for it before anything is read or changed. */
async function waitForWindow(run: RotationRun): Promise<void> {
  const window = run.spec.schedule?.window;
  if (run.input.trigger !== 'schedule' || !window) return;
  const wait = msUntilWindow(Date.now(), window);
  if (wait <= 0) return;
  run.writer.stageNote('plan', `waiting for the rotation window ${window.start}–${window.end} UTC`);
  run.publish();
  await sleep(wait);
}

async function canaryStage(run: RotationRun, fresh: VersionRef): Promise<void> {
  const store = run.spec.secret.store;
  await run.stage('canary', async () => {
    for (const canary of run.spec.canaries) {
      // An attempt outlives the check's own timeout (plus setup and cleanup), so a retry never
      // starts a second canary (a kubernetes-job Job) while the first still runs.
      const attempt = canary.timeout + 60_000;
      const result = await callActivity(
        acts.runCanary,
        {
          ...profiles.canary,
          startToCloseTimeout: attempt,
          scheduleToCloseTimeout: Math.max(run.stageTimeout('canary'), attempt),
        },
        `canary ${canary.name} with the new version`,
        { admission: run.admission, store, version: fresh.version, canary },
      );
      run.writer.canary(result);
    }
  });
}

/** plan and create: the new version exists in the store, not current; its undo is registered first. */
async function createStages(run: RotationRun): Promise<{ plan: PlanResult; fresh: VersionRef }> {
  const store = run.spec.secret.store;
  const rotation = run.rotation;
  const plan = await run.stage('plan', () =>
    callActivity(
      acts.planRotation,
      // Plan reads every cluster (consumers, readers): it heartbeats and may take the stage's whole timeout.
      { ...run.forward('plan'), startToCloseTimeout: run.stageTimeout('plan'), heartbeatTimeout: '30s' },
      'plan: read the current version (fingerprint only)',
      {
        admission: run.admissionFor(run.spec.clusters),
        store,
        rotation,
        clusters: run.spec.clusters,
        ...(run.input.emergency?.compromised ? { compromised: true } : {}),
      },
    ),
  );
  for (const warning of plan.consumerWarnings ?? []) compromisedWarning(run, 'plan', warning);
  if (plan.readers?.length) {
    run.writer.readers(plan.readers);
    run.audit('readers-listed', { readers: plan.readers });
  }
  if (plan.consumers) run.writer.consumers(plan.consumers);
  const old = plan.current;
  run.original = old;
  run.writer.versions({ current: old });

  // Undo first: the write can land even when the activity reports failure (lost response,
  // timeout), and the undo finds this run's version by run id, so it is safe if nothing landed.
  run.saga.add('discard pending version', () =>
    callActivity(acts.discardPendingVersion, profiles.undo, "undo create: discard this run's pending version", {
      admission: run.admission,
      store,
      credential: run.spec.credential,
      rotation,
      pendingVersion: run.status.pending?.version ?? null,
      currentVersion: old.version,
      previousVersion: plan.previousVersion,
    }),
  );
  const fresh = await run.stage('create', () =>
    callActivity(acts.createPendingVersion, run.forward('create'), 'create: store a new pending version', {
      admission: run.admission,
      store,
      credential: run.spec.credential,
      rotation,
      currentVersion: old.version,
    }),
  );
  run.writer.versions({ pending: fresh });
  return { plan, fresh };
}

/** Clusters a wave's detail names; a fleet's wave says how many more (the table lists every one). */
const namedInWave = 5;

/** The clusters of `wave`, the first few by name. */
function namesOf(wave: readonly { name: string }[]): string {
  const named = wave
    .slice(0, namedInWave)
    .map((c) => c.name)
    .join(', ');
  return wave.length > namedInWave ? `${named} … and ${wave.length - namedInWave} more` : named;
}

/** distribute wave by wave (canary after the first wave), then verify every cluster reads both. */
async function distributeStages(run: RotationRun, old: VersionRef, fresh: VersionRef): Promise<void> {
  const waves = wavesOf(run.spec);
  run.writer.clustersPlanned(waves, Date.now());
  if (waves.length === 0) {
    run.skip('distribute', 'no clusters in the playbook');
    run.skip('verify', 'no clusters in the playbook');
    await canaryStage(run, fresh);
    return;
  }
  // Runs after the clusters are restored (undos run last-first): consumers resync onto the old version now.
  run.saga.add('resync consumers to the old version', () => resyncConsumers(run, old));
  // One undo for every cluster step before revoke: back to serving only the old version.
  run.saga.add('restore clusters to the old version', () =>
    syncClusters(run, run.touchedClusters(), 'restore', { current: old, other: null }, 'rolled-back'),
  );
  for (const [i, wave] of waves.entries()) {
    await run.stage(
      'distribute',
      () =>
        syncClusters(run, wave, 'dual-read', { current: old, other: fresh }, 'dual-read', {
          boundMs: run.stageTimeout('distribute'),
        }),
      {
        detail: `wave ${i + 1}/${waves.length}: ${namesOf(wave)}`,
        completes: i === waves.length - 1,
      },
    );
    // The canary runs against the first wave before any other wave is touched.
    if (i === 0) await canaryStage(run, fresh);
  }
  run.writer.stageNote('distribute', `${waves.length} wave(s), ${run.spec.clusters.length} cluster(s)`);
  await run.stage('verify', () =>
    syncClusters(run, run.spec.clusters, 'verify', { current: old, other: fresh }, 'verified'),
  );
}

/** promote: the store's label moves, then every cluster swaps its keys; one stage per rotation. */
async function promoteStage(run: RotationRun, plan: PlanResult, fresh: VersionRef): Promise<void> {
  const store = run.spec.secret.store;
  const old = plan.current;
  // As with create, the label move may land without a reply; demote is a no-op if it did not.
  run.saga.add('demote new version', () =>
    callActivity(acts.demoteVersion, profiles.undo, `undo promote: make version ${old.version} current again`, {
      admission: run.admission,
      store,
      rotation: run.rotation,
      pendingVersion: fresh.version,
      currentVersion: old.version,
      previousVersion: plan.previousVersion,
      credential: run.spec.credential,
    }),
  );
  // Before the keys swap, every consumer reads the new version beside the old one.
  await consumerGateStage(run, 'promote', { current: old, other: fresh });
  const clusters = run.spec.clusters.length > 0;
  await run.stage(
    'promote',
    () =>
      callActivity(acts.promoteVersion, run.forward('promote'), `promote: make version ${fresh.version} current`, {
        admission: run.admission,
        store,
        rotation: run.rotation,
        pendingVersion: fresh.version,
        currentVersion: old.version,
        credential: run.spec.credential,
      }),
    { completes: !clusters },
  );
  if (clusters) {
    await run.stage(
      'promote',
      () => syncClusters(run, run.spec.clusters, 'promote', { current: fresh, other: old }, 'promoted'),
      { detail: 'swapping keys in every cluster' },
    );
  }
  run.clusters.swappedAt = Date.now();
  run.writer.versions({ current: fresh, pending: undefined });
}
