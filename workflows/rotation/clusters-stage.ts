import type { VersionRef } from '../../core/contracts';
import type { ClusterBatchStep } from '../../core/cluster-batch';
import type { ClusterTarget } from '../../core/playbook/schema';
import type { ClusterPhase } from '../../core/status';
import { syncClusterBatches } from '../cluster-batches';
import type { BatchOptions } from '../cluster-batches';
import type { RotationRun } from './run';

/** The rollout token of a cluster step: one rollout at promote, one back if a promoted cluster is restored. */
function rolloutTokenOf(run: RotationRun, cluster: string, step: ClusterBatchStep): string | undefined {
  if (step === 'promote') return run.rotation.runId;
  if (step === 'restore' && run.clusters.rolledOut.has(cluster)) return `${run.rotation.runId}/rolled-back`;
  return undefined;
}

/**
 * Syncs `clusters` at `step`, tracking each one's phase. Every cluster settles before the stage
 * fails, so the table shows exactly which ones failed and why (see `syncClusterBatches`).
 */
export function syncClusters(
  run: RotationRun,
  clusters: ClusterTarget[],
  step: ClusterBatchStep,
  versions: { current: VersionRef; other: VersionRef | null },
  done: ClusterPhase,
  opts: BatchOptions = {},
): Promise<void> {
  return syncClusterBatches(run, clusters, step, versions, done, (name) => rolloutTokenOf(run, name, step), opts);
}
