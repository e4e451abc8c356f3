import { ApplicationFailure } from '@temporalio/workflow';
import type { VersionRef } from '../../core/contracts';
import { WorkflowErrorTypes } from '../../core/failures';
import { gateText, publishedReaders } from '../../core/gate';
import type { GateInput, GateReport, GateStep } from '../../core/gate';
import type { ClusterTarget, Playbook } from '../../core/playbook/schema';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';
import type { RotationRun } from './run';

/**
 * A consumer problem a compromised emergency goes on despite: a warning in the audit trail and the
 * stage's note, so the team sees what may break while the leaked credential is revoked.
 */
export function compromisedWarning(
  run: RotationRun,
  stage: 'plan' | 'promote-gate' | 'revoke-gate',
  text: string,
): void {
  const detail = `warning, not blocking a compromised rotation: ${text}`;
  run.audit('consumer-gate', { stage, detail });
  run.writer.stageNote(stage, detail);
}

/** Consumers of a compromised rotation that do not report get at most this long after the touch. */
const compromisedSettleMs = 2_000;

/** The settle time for this run; a compromised rotation shortens it, and says so in the audit trail. */
function settleOf(run: RotationRun, stage: string): number {
  const { settle } = run.spec.consumerGate;
  if (!run.input.emergency?.compromised || settle <= compromisedSettleMs) return settle;
  run.audit('consumer-gate', {
    stage,
    detail: `shortened for a compromised rotation: consumers that do not report get ${compromisedSettleMs / 1000}s after the touch instead of ${settle / 1000}s`,
  });
  return compromisedSettleMs;
}

function readersOf(credential: Playbook['spec']['credential']): Pick<GateInput, 'readers'> {
  const readers = publishedReaders(credential);
  return readers ? { readers } : {};
}

function inputOf(
  run: RotationRun,
  step: GateStep,
  clusters: ClusterTarget[],
  versions: { current: VersionRef; other: VersionRef | null },
  settleMs: number,
  extra: Partial<GateInput>,
): GateInput {
  const spec = run.spec;
  return {
    admission: run.admissionFor(clusters),
    step,
    rotation: run.rotation,
    versions: { store: spec.secret.store, ...versions, ...spec.dualRead },
    clusters,
    parallelism: spec.maxParallelClusters,
    settleMs,
    boundMs: run.stageTimeout('gate'),
    // Readers of what the kind publishes are gated too: a jwt-signing-key's verifiers (pods mounting
    // the JWKS), a CA rollover's clients (pods mounting the trust bundle, perhaps not the Secret).
    ...readersOf(spec.credential),
    ...extra,
  };
}

function record(run: RotationRun, report: GateReport): void {
  for (const o of report.outcomes) {
    const text = gateText(report.step, o);
    run.writer.clusterGate(o.cluster, text);
    run.audit('consumer-gate', { cluster: o.cluster, stage: report.step, detail: text });
  }
  run.publish();
}

/**
 * The consumer gate before `step` swaps what consumers need (promote: the new version beside the
 * old; revoke: the new version as the only one), per cluster, as its own stage bounded by
 * `timeouts.gate`. Fails ConsumerGateFailed naming every cluster that did not pass; forward
 * compensation then restores the clusters (and resyncs their consumers onto the old version).
 */
export async function consumerGateStage(
  run: RotationRun,
  step: 'promote' | 'revoke',
  versions: { current: VersionRef; other: VersionRef | null },
  extra: Pick<GateInput, 'rolloutToken' | 'swappedAt'> = {},
): Promise<void> {
  const stage = step === 'promote' ? 'promote-gate' : 'revoke-gate';
  if (!run.spec.consumerGate.enabled)
    return run.skip(stage, 'turned off by the playbook (spec.consumerGate.enabled: false)');
  if (run.spec.clusters.length === 0) return run.skip(stage, 'no clusters in the playbook');
  const input = inputOf(run, step, run.spec.clusters, versions, settleOf(run, stage), extra);
  await run.stage(
    stage,
    async () => {
      const report = await callActivity(
        acts.consumerGate,
        { ...profiles.waiting, scheduleToCloseTimeout: input.boundMs + 60_000 },
        `${step} gate: every consumer can read the version it is about to need`,
        input,
      );
      record(run, report);
      const failed = report.outcomes.filter((o) => !o.ok);
      const pods = report.outcomes.reduce((n, o) => n + o.pods, 0);
      const slowest = Math.max(0, ...report.outcomes.map((o) => o.waitedMs));
      // A pod in the tenant's namespace must not keep a leaked credential alive: warn, go on.
      if (failed.length > 0 && run.input.emergency?.compromised) {
        for (const f of failed) compromisedWarning(run, stage, f.detail);
        return;
      }
      if (failed.length > 0)
        throw ApplicationFailure.create({
          type: WorkflowErrorTypes.consumerGateFailed,
          message: `${step} gate failed in ${failed.length} of ${report.outcomes.length} cluster(s): ${failed.map((f) => f.detail).join('; ')}`,
          nonRetryable: true,
        });
      run.writer.stageNote(
        stage,
        `${pods} consumer pod(s) in ${report.outcomes.length} cluster(s), slowest ${(slowest / 1000).toFixed(1)}s`,
      );
    },
    { detail: `${step} gate: touching consumer pods, waiting for their reads` },
  );
}

/**
 * Undo of the distribution for consumers: after the clusters are restored to the old version,
 * touch their consumer pods so kubelets resync now, and wait (bounded, never failing) until they
 * read it. What could not be confirmed is shown in the cluster's gate text.
 */
export async function resyncConsumers(run: RotationRun, old: VersionRef): Promise<void> {
  const clusters = run.touchedClusters();
  if (!run.spec.consumerGate.enabled || clusters.length === 0) return;
  const input = inputOf(run, 'restore', clusters, { current: old, other: null }, run.spec.consumerGate.settle, {});
  const report = await callActivity(
    acts.consumerGate,
    { ...profiles.waiting, ...profiles.undo, heartbeatTimeout: '30s' },
    'undo: consumers resync onto the old version',
    input,
  );
  record(run, report);
}
