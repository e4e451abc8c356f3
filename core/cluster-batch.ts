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

/** Heartbeat details of a batch: which clusters are done, so a retried attempt resumes with the rest. */
export interface ClusterBatchProgress {
  ok: string[];
  failed: ClusterOutcome[];
  running: number;
  total: number;
}

/** The readable summary of a batch's outcomes; only the first few failures are named. */
export function batchSummary(step: ClusterBatchStep, outcomes: readonly ClusterOutcome[], shown = 3): string {
  const failed = outcomes.filter((o) => !o.ok);
  const head = `${step} ${outcomes.length} cluster(s): ${outcomes.length - failed.length} ok, ${failed.length} failed`;
  if (failed.length === 0) return head;
  const named = failed.slice(0, shown).map((f) => `${f.cluster} (${f.error ?? 'unknown error'})`);
  return `${head}: ${named.join('; ')}${failed.length > shown ? `; and ${failed.length - shown} more` : ''}`;
}
