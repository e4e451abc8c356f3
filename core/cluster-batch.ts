/**
 * Shapes of a batched cluster step: one activity delivers and verifies many clusters in-process.
 * Like every contract they carry names, version ids and keyed fingerprints — never a value.
 */
import type { AdmissionGrant, ClusterVersions, RotationRef } from './contracts';
import type { ClusterTarget } from './playbook/schema';

/** What a cluster step makes true (the same steps as the per-cluster child workflow). */
export type ClusterBatchStep = 'dual-read' | 'verify' | 'promote' | 'revoke' | 'restore';

export interface ClusterBatchInput {
  /** The admission of the rotation the batch belongs to. */
  admission: AdmissionGrant;
  step: ClusterBatchStep;
  rotation: RotationRef;
  versions: ClusterVersions;
  clusters: ClusterTarget[];
  /** Clusters worked on at once inside the activity. */
  parallelism: number;
  /** Rollout token by cluster name, for the clusters whose workloads roll out at this step. */
  rolloutTokens: Record<string, string>;
  /** restore and revoke may not give up: transient failures fail the activity so Temporal retries the rest. */
  persistent: boolean;
  /** Bound of one attempt of a persistent step (revoke: `timeouts.revoke`); none for restore, which never gives up. */
  attemptTimeoutMs?: number;
}

/** One cluster's result; `error` is already redacted (it names resources, versions and key names only). */
export interface ClusterOutcome {
  cluster: string;
  ok: boolean;
  error?: string;
  /** Failure type from the catalogue, when known. */
  type?: string;
}

export interface ClusterBatchReport {
  step: ClusterBatchStep;
  outcomes: ClusterOutcome[];
  /** A one-line, operator-readable summary, e.g. `promote 250 clusters: 248 ok, 2 failed: c-7 (…)`. */
  summary: string;
}

/**
 * What a batch child returns to its rotation: counts and the failed clusters only, so the
 * rotation's history grows with batches and failures, not clusters. The child's own history keeps
 * every cluster's outcome (its activity's report); a cluster not named failed succeeded.
 */
export interface ClusterBatchResult {
  step: ClusterBatchStep;
  /** Clusters in the batch. */
  total: number;
  /** Clusters that succeeded: `total - failed.length`. */
  ok: number;
  failed: ClusterOutcome[];
  summary: string;
}

/**
 * The batch child's result from its activity's report: a cluster of `clusters` the report does not
 * name is failed too, so "not named failed" always means succeeded.
 */
export function batchResult(clusters: readonly { name: string }[], report: ClusterBatchReport): ClusterBatchResult {
  const ok = new Set(report.outcomes.filter((o) => o.ok).map((o) => o.cluster));
  const named = new Set(report.outcomes.map((o) => o.cluster));
  const failed = [
    ...report.outcomes.filter((o) => !o.ok),
    ...clusters
      .filter((c) => !named.has(c.name))
      .map((c) => ({ cluster: c.name, ok: false, error: `${report.step}: no outcome reported for this cluster` })),
  ];
  return {
    step: report.step,
    total: clusters.length,
    ok: clusters.filter((c) => ok.has(c.name)).length,
    failed,
    summary: countSummary(report.step, clusters.length, failed),
  };
}

/**
 * The failed clusters of a batch, whatever it returned: a result (counts and failures), or, from
 * the inline activity and from batch children of runs recorded before results, a full report.
 */
export function failedOf(r: ClusterBatchResult | ClusterBatchReport): ClusterOutcome[] {
  return 'failed' in r ? r.failed : r.outcomes.filter((o) => !o.ok);
}

/** Heartbeat details of a batch: which clusters are done, so a retried attempt resumes with the rest. */
export interface ClusterBatchProgress {
  ok: string[];
  failed: ClusterOutcome[];
  running: number;
  total: number;
}

/** The readable summary of a batch's outcomes; only the first few failures are named. */
export function batchSummary(step: ClusterBatchStep, outcomes: readonly ClusterOutcome[], shown = 3): string {
  return countSummary(
    step,
    outcomes.length,
    outcomes.filter((o) => !o.ok),
    shown,
  );
}

/** The readable summary of `total` clusters of which `failed` failed; only the first few are named. */
export function countSummary(
  step: ClusterBatchStep,
  total: number,
  failed: readonly ClusterOutcome[],
  shown = 3,
): string {
  const head = `${step} ${total} cluster(s): ${total - failed.length} ok, ${failed.length} failed`;
  if (failed.length === 0) return head;
  const named = failed.slice(0, shown).map((f) => `${f.cluster} (${f.error ?? 'unknown error'})`);
  return `${head}: ${named.join('; ')}${failed.length > shown ? `; and ${failed.length - shown} more` : ''}`;
}
