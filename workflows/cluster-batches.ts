/**
 * Cluster steps in batches: one child workflow per batch of up to `maxBatch` clusters, each running
 * ONE batched activity, instead of one child workflow per cluster. The parent's history grows by a
 * few events per batch, not per cluster, and so do its payloads: a batch's input carries its own
 * clusters and their admission tags only, and its result counts and failed clusters only (each
 * child's history keeps every cluster's outcome). The status query still shows every cluster's phase.
 */
import {
  ApplicationFailure,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { ClusterBatchActivities } from '../activities/cluster-batch';
import type { RotationActivities } from '../activities/index';
import type { ClusterBatchInput, ClusterBatchResult, ClusterBatchStep, ClusterOutcome } from '../core/cluster-batch';
import { batchResult, countSummary, failedOf } from '../core/cluster-batch';
import type { VersionRef } from '../core/contracts';
import { tlsSecretType } from '../core/contracts';
import { ErrorTypes, WorkflowErrorTypes } from '../core/failures';
import type { ClusterTarget } from '../core/playbook/schema';
import type { ClusterPhase } from '../core/status';
import { acts, callActivity } from './activity-calls';
import { profiles } from './profiles';
import type { RotationRun } from './rotation/run';
import { rootMessage } from './saga';

/** The most clusters one batch child (and its one activity) carries. */
export const maxBatch = 250;
/** Failed clusters named in a stage failure's message; the status names all of them. */
const namedInFailure = 10;
/**
 * Up to this many clusters a step runs its batched activity in the rotation itself, not in a batch
 * child: a child costs a start and a completion in the parent and a workflow task of its own (about
 * 0.25 s per step), and the parent's table already shows every cluster of a fleet this small.
 */
export const inlineUpTo = 10;

/** The batched activity's options: restore and revoke persist (revoke bounded per attempt), the rest wait. */
function batchActivityOptions(input: ClusterBatchInput): ActivityOptions {
  return input.persistent
    ? {
        ...profiles.persistentWaiting,
        ...(input.attemptTimeoutMs ? { scheduleToCloseTimeout: input.attemptTimeoutMs } : {}),
      }
    : profiles.waiting;
}

const batchSummaryOf = (input: ClusterBatchInput) =>
  `${input.step} ${input.clusters.length} cluster(s), ${input.parallelism} at a time`;

/**
 * One batch of clusters, one step: runs the batched activity and shows its summary and failed
 * clusters as the child's current details, so an operator finds a failing cluster from the UI.
 * Returns counts and the failed clusters; every cluster's outcome stays in this child's history.
 */
export async function clusterBatchWorkflow(input: ClusterBatchInput): Promise<ClusterBatchResult> {
  // Only a rotation, which checked the playbook against the admin policy, may start cluster steps.
  await requireRotationParent(input);
  // restore never gives up (an undo); revoke's attempt is bounded by timeouts.revoke, after which
  // the rotation alerts (needs-attention) and tries again — it never rolls back.
  const options = batchActivityOptions(input);
  const batchActs = proxyActivities<ClusterBatchActivities>(options);
  setCurrentDetails(`${input.step} ${input.clusters.length} cluster(s): running`);
  const report = await callActivity(batchActs.syncClusterBatch, options, batchSummaryOf(input), input);
  const failed = report.outcomes.filter((o) => !o.ok);
  setCurrentDetails(
    [
      `**${report.summary}**`,
      ...(failed.length ? ['', '| failed cluster | error |', '|---|---|'] : []),
      ...failed.map((f) => `| ${f.cluster} | ${f.error ?? ''} |`),
    ].join('\n'),
  );
  return batchResult(input.clusters, report);
}

/**
 * Fails, changing nothing, unless this workflow is the child of a running rotation on this task
 * queue: started by hand, or by a workflow of another worker, it would skip the policy.
 */
async function requireRotationParent(input: ClusterBatchInput): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent)
    throw ApplicationFailure.create({
      type: ErrorTypes.clusterStepWithoutRotation,
      message:
        'clusterBatchWorkflow runs only as a child of a rotation; start the rotation instead (rotor rotate <playbook>)',
      nonRetryable: true,
    });
  // The batch carries its rotation's admission: a grant of another run is not this parent's.
  const granted = (input as Partial<ClusterBatchInput>).admission?.run;
  if (granted?.workflowId !== parent.workflowId || granted.runId !== parent.runId)
    throw ApplicationFailure.create({
      type: ErrorTypes.clusterStepWithoutRotation,
      message: `clusterBatchWorkflow carries no admission of its parent ${parent.workflowId}; nothing was changed`,
      nonRetryable: true,
    });
  await proxyActivities<RotationActivities>(profiles.store).verifyRotationParent({
    workflowId: parent.workflowId,
    runId: parent.runId,
  });
}

/** The rollout tokens of `batch`'s clusters. */
function tokensOf(batch: readonly ClusterTarget[], tokens: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of batch) {
    const token = tokens[c.name];
    if (token) out[c.name] = token;
  }
  return out;
}

/** Splits `items` into `count` near-equal consecutive batches. */
function split<T>(items: readonly T[], count: number): T[][] {
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((b) => b.length > 0);
}

/** How one cluster step is bounded and named. */
export interface BatchOptions {
  /** Attempt of a step retried after needs-attention (revoke); attempts after the first get fresh child ids. */
  attempt?: number;
  /** Bound of each batch child of a forward step (distribute: `timeouts.distribute`). */
  boundMs?: number;
  /** Bound of one attempt of a persistent step (revoke: `timeouts.revoke`). */
  attemptTimeoutMs?: number;
}

/**
 * Syncs `clusters` at `step` in batch children running side by side, with the playbook's
 * `maxParallelClusters` shared between them. Every cluster is marked touched before its batch
 * starts (a batch may deliver without ever reporting back), every cluster's outcome lands in the
 * status, and the stage fails naming the failed clusters once all batches have settled.
 */
export async function syncClusterBatches(
  run: RotationRun,
  clusters: ClusterTarget[],
  step: ClusterBatchStep,
  versions: { current: VersionRef; other: VersionRef | null },
  done: ClusterPhase,
  rolloutTokenOf: (cluster: string) => string | undefined,
  opts: BatchOptions = {},
): Promise<void> {
  if (clusters.length === 0) return;
  const info = workflowInfo();
  const spec = run.spec;
  const batches = split(clusters, Math.ceil(clusters.length / maxBatch));
  const parallelism = Math.max(1, Math.ceil(spec.maxParallelClusters / batches.length));
  // Workflow time when the phase changes: a cluster that finishes is stamped with its finish.
  const mark = (name: string, phase: ClusterPhase, detail?: string) => {
    run.writer.clusterPhase(name, phase, Date.now(), detail);
    run.audit('cluster-phase', { cluster: name, phase, stage: step, ...(detail ? { detail } : {}) });
  };
  const rolloutTokens: Record<string, string> = {};
  for (const c of clusters) {
    if (step !== 'verify') run.clusters.touched.add(c.name);
    // Consumers that present the credential switch when keys swap.
    if (step === 'promote') run.clusters.rolledOut.add(c.name);
    const token = rolloutTokenOf(c.name);
    if (token && c.workloads.length) rolloutTokens[c.name] = token;
    mark(c.name, step === 'verify' ? 'dual-read' : 'delivering', step);
  }
  run.publish();

  const persistent = step === 'restore' || step === 'revoke';
  const inline = clusters.length <= inlineUpTo;
  const slowest = Math.max(...clusters.map((c) => c.timeout ?? spec.timeouts.verify));
  const settled = await Promise.allSettled(
    batches.map((batch) => {
      const input: ClusterBatchInput = {
        admission: run.admissionFor(batch),
        step,
        rotation: run.rotation,
        versions: {
          store: spec.secret.store,
          ...versions,
          currentKey: spec.dualRead.currentKey,
          otherKey: spec.dualRead.otherKey,
          ...(spec.credential.kind === 'vault-pki-certificate' ? { secretType: tlsSecretType } : {}),
        },
        clusters: batch,
        parallelism,
        rolloutTokens: tokensOf(batch, rolloutTokens),
        persistent,
        ...(persistent && opts.attemptTimeoutMs ? { attemptTimeoutMs: opts.attemptTimeoutMs } : {}),
      };
      const first = batch[0]?.name ?? '';
      // Forward steps are bounded (an unreachable apiserver must fail the stage, not stall it): each
      // round of `parallelism` clusters may take up to the slowest cluster's timeout.
      const rounds = slowest * Math.ceil(batch.length / parallelism) + 60_000;
      const bound = opts.boundMs ? Math.min(rounds, opts.boundMs) : rounds;
      if (inline) {
        // As the child's execution timeout bounds a forward step, the activity's whole schedule does.
        const options = batchActivityOptions(input);
        return callActivity(
          acts.syncClusterBatch,
          persistent ? options : { ...options, scheduleToCloseTimeout: bound },
          batchSummaryOf(input),
          input,
        );
      }
      const attempt = opts.attempt && opts.attempt > 1 ? `-${opts.attempt}` : '';
      return executeChild(clusterBatchWorkflow, {
        workflowId: `${info.workflowId}/${info.runId.slice(0, 8)}/${step}${attempt}/batch-${first}+${batch.length}`,
        ...(persistent ? {} : { workflowExecutionTimeout: bound }),
        args: [input],
        staticSummary: `${step} ${batch.length} cluster(s): ${first}${batch.length > 1 ? ` … ${batch[batch.length - 1]?.name ?? ''}` : ''}`,
      });
    }),
  );

  const failed: ClusterOutcome[] = settled.flatMap((s, i) =>
    s.status === 'fulfilled'
      ? failedOf(s.value)
      : (batches[i] ?? []).map((c) => ({ cluster: c.name, ok: false, error: rootMessage(s.reason) })),
  );
  // A cluster its batch does not name failed succeeded (batchResult names every other one failed).
  const failedNames = new Set(failed.map((f) => f.cluster));
  for (const c of clusters) if (!failedNames.has(c.name)) mark(c.name, done);
  for (const f of failed) mark(f.cluster, 'failed', `${step}: ${f.error ?? ''}`);
  run.publish();
  if (failed.length > 0) {
    const named = failed.slice(0, namedInFailure).map((f) => `${f.cluster}: ${f.error ?? 'unknown error'}`);
    const more = failed.length > namedInFailure ? `; and ${failed.length - namedInFailure} more (see the status)` : '';
    throw ApplicationFailure.create({
      type: WorkflowErrorTypes.clusterStepFailed,
      message: `${step} failed in ${failed.length} of ${clusters.length} cluster(s): ${named.join('; ')}${more}`,
      nonRetryable: true,
      details: [countSummary(step, clusters.length, failed)],
    });
  }
}
