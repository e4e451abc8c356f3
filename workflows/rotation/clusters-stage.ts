import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { VersionRef } from '../../core/contracts';
import { WorkflowErrorTypes } from '../../core/failures';
import type { ClusterTarget } from '../../core/playbook/schema';
import type { ClusterPhase } from '../../core/status';
import { syncClusterBatches } from '../cluster-batches';
import type { BatchOptions } from '../cluster-batches';
import { inWindow, syncCluster } from '../clusters';
import type { ClusterStep } from '../clusters';
import { rootMessage } from '../saga';
import type { RotationRun } from './run';

/** The rollout token of a cluster step: one rollout at promote, one back if a promoted cluster is restored. */
function rolloutTokenOf(run: RotationRun, cluster: string, step: ClusterStep): string | undefined {
  if (step === 'promote') return run.rotation.runId;
  if (step === 'restore' && run.rolledOut.has(cluster)) return `${run.rotation.runId}/rolled-back`;
  return undefined;
}

/**
 * Syncs clusters in a bounded window of child workflows, tracking each one's phase. Every cluster
 * settles before the stage fails, so the table shows exactly which ones failed and why.
 */
export async function syncClusters(
  run: RotationRun,
  clusters: ClusterTarget[],
  step: ClusterStep,
  versions: { current: VersionRef; other: VersionRef | null },
  done: ClusterPhase,
  opts: BatchOptions = {},
): Promise<void> {
  // Runs recorded before batching replay through one child per cluster below.
  if (patched('batched-cluster-steps'))
    return syncClusterBatches(run, clusters, step, versions, done, (name) => rolloutTokenOf(run, name, step), opts);
  const mark = (name: string, phase: ClusterPhase, detail?: string) => {
    run.writer.clusterPhase(name, phase, Date.now(), detail);
    run.audit('cluster-phase', { cluster: name, phase, stage: step, ...(detail ? { detail } : {}) });
    run.publish();
  };
  const results = await inWindow(clusters, run.spec.maxParallelClusters, async (c) => {
    if (step !== 'verify') run.touched.add(c.name);
    // Consumers that present the credential switch when keys swap.
    if (step === 'promote') run.rolledOut.add(c.name);
    const rolloutToken = rolloutTokenOf(run, c.name, step);
    mark(c.name, step === 'verify' ? 'dual-read' : 'delivering', step);
    try {
      const report = await syncCluster(run.spec, c, step, versions, rolloutToken, opts);
      mark(c.name, done);
      return report;
    } catch (err) {
      mark(c.name, 'failed', `${step}: ${rootMessage(err)}`);
      throw err;
    }
  });
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ cluster: clusters[i]?.name ?? '?', err: r.reason as unknown }] : [],
  );
  const first = failed[0];
  if (first) {
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.clusterStepFailed,
      message: `${step} failed in ${failed.length} of ${clusters.length} cluster(s): ${failed.map((f) => `${f.cluster}: ${rootMessage(f.err)}`).join('; ')}`,
      nonRetryable: true,
      cause: first.err instanceof Error ? first.err : undefined,
    });
  }
}
