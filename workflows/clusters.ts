import { ApplicationFailure, executeChild, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ClusterActivities } from '../activities/cluster';
import type { ClusterInput, ClusterReport, VersionRef } from '../core/contracts';
import type { ClusterTarget, Playbook } from '../core/playbook/schema';
import type { RotationActivities } from '../activities/index';
import { profiles } from './profiles';

/** What a cluster sync makes true: which version is current in the cluster and which one sits beside it. */
export type ClusterStep = 'dual-read' | 'verify' | 'promote' | 'revoke' | 'restore';

export interface ClusterSyncInput extends ClusterInput {
  step: ClusterStep;
  /** Bound of one revoke attempt (`timeouts.revoke`); restore has none: it never gives up. */
  attemptTimeoutMs?: number;
}

/**
 * One cluster, one step, as its own child workflow so each cluster's progress is visible on its own
 * and the parent's history grows by a few events per cluster. `verify` only reads; every other step
 * delivers and then waits until the cluster reads back exactly the expected versions. `restore` never
 * gives up (an undo); `revoke` is past the point of no return: its attempt is bounded by
 * `timeouts.revoke`, then the rotation alerts and tries again.
 */
export async function clusterSyncWorkflow(input: ClusterSyncInput): Promise<ClusterReport> {
  // Only a rotation, which checked the playbook against the admin policy, may start cluster steps.
  if (patched('cluster-step-needs-rotation-parent')) await requireRotationParent();
  const persistent = input.step === 'restore' || input.step === 'revoke';
  // Restore and revoke keep the waiting timeouts for verification (a convergence can take minutes)
  // and retry without an overall bound, except revoke's attempt bound (then the rotation alerts).
  const bound = input.attemptTimeoutMs ? { scheduleToCloseTimeout: input.attemptTimeoutMs } : {};
  const deliver = proxyActivities<ClusterActivities>(
    persistent ? { ...profiles.persistent, ...bound } : profiles.store,
  );
  const waiting = proxyActivities<ClusterActivities>(
    persistent ? { ...profiles.persistentWaiting, ...bound } : profiles.waiting,
  );
  if (input.step !== 'verify') await deliver.deliverToCluster(input);
  return waiting.verifyCluster(input);
}

/**
 * Fails, changing nothing, unless this workflow is the child of a running rotation on this task
 * queue: started by hand, or by a workflow of another worker, it would skip the policy.
 */
async function requireRotationParent(): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent)
    throw ApplicationFailure.create({
      type: 'ClusterStepWithoutRotation',
      message:
        'clusterSyncWorkflow runs only as a child of a rotation; start the rotation instead (rotor rotate <playbook>)',
      nonRetryable: true,
    });
  await proxyActivities<RotationActivities>(profiles.store).verifyRotationParent({
    workflowId: parent.workflowId,
    runId: parent.runId,
  });
}

/** Runs `fn` over `items` with at most `limit` in flight; settles every item (deterministic order). */
export async function inWindow<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i] as T;
      try {
        results[i] = { status: 'fulfilled', value: await fn(item) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}

/** Clusters grouped into the playbook's waves (one wave with every cluster when none are given). */
export function wavesOf(spec: Playbook['spec']): ClusterTarget[][] {
  const byName = new Map(spec.clusters.map((c) => [c.name, c]));
  const waves = spec.waves ?? [spec.clusters.map((c) => c.name)];
  return waves
    .map((w) => w.map((n) => byName.get(n)).filter((c): c is ClusterTarget => c !== undefined))
    .filter((w) => w.length > 0);
}

/** Starts one cluster step as a child workflow with a stable, readable id. */
export function syncCluster(
  spec: Playbook['spec'],
  cluster: ClusterTarget,
  step: ClusterStep,
  versions: { current: VersionRef; other: VersionRef | null },
  rolloutToken?: string,
  opts: { attempt?: number; attemptTimeoutMs?: number } = {},
): Promise<ClusterReport> {
  const info = workflowInfo();
  const input: ClusterSyncInput = {
    step,
    cluster,
    rotation: { workflowId: info.workflowId, runId: info.runId },
    versions: {
      store: spec.secret.store,
      ...versions,
      currentKey: spec.dualRead.currentKey,
      otherKey: spec.dualRead.otherKey,
    },
    ...(rolloutToken && cluster.workloads.length ? { rolloutToken } : {}),
    ...(step === 'revoke' && opts.attemptTimeoutMs ? { attemptTimeoutMs: opts.attemptTimeoutMs } : {}),
  };
  const attempt = opts.attempt && opts.attempt > 1 ? `-${opts.attempt}` : '';
  // Forward steps are bounded by the cluster's own timeout (an unreachable apiserver must fail the
  // stage, not stall it); restore and revoke may not give up, so they have none.
  const bounded = step !== 'restore' && step !== 'revoke';
  return executeChild(clusterSyncWorkflow, {
    workflowId: `${info.workflowId}/${info.runId.slice(0, 8)}/${step}${attempt}/${cluster.name}`,
    ...(bounded ? { workflowExecutionTimeout: cluster.timeout ?? spec.timeouts.verify } : {}),
    args: [input],
    staticSummary: `${step} ${cluster.name}: ${cluster.delivery} ${cluster.namespace}/${cluster.secretName}`,
  });
}
