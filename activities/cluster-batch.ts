/**
 * A batched cluster step: one activity delivers and verifies many clusters concurrently in-process
 * (bounded by the batch's parallelism), heartbeating which clusters are done so a retried attempt
 * resumes with the rest. Push delivery is verified from the server-side-apply reply (the stored
 * object's keys are fingerprinted) and only falls back to a watch when the reply does not prove it.
 * Values are read once per version per attempt, stay in memory, and never leave: outcomes carry
 * cluster names and redacted error text only.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import pLimit from 'p-limit';
import type { KubeClients } from '../adapters/kubernetes/clients';
import { contextOf } from '../adapters/kubernetes/clients';
import { deliverEso } from '../adapters/kubernetes/eso';
import { deliverPush, noNamespace } from '../adapters/kubernetes/push';
import type { ValueAccess } from '../adapters/kubernetes/values';
import { versionValues } from '../adapters/kubernetes/values';
import { checkSecret, verifyCluster } from '../adapters/kubernetes/verify';
import { redact } from '../adapters/redact';
import { whileHeartbeating } from '../adapters/heartbeat';
import type {
  ClusterBatchInput,
  ClusterBatchProgress,
  ClusterBatchReport,
  ClusterOutcome,
} from '../core/cluster-batch';
import { batchSummary } from '../core/cluster-batch';
import type { ClusterInput } from '../core/contracts';
import { RetryableErrorTypes, retryable } from '../core/failures';
import type { ClusterTarget } from '../core/playbook/schema';

/** In-process attempts per cluster for transient errors before the cluster counts as failed. */
const attemptsPerCluster = 3;

/** Store access that reads each version once per batch attempt and remembers the values for redaction. */
function cachedAccess(access: ValueAccess): ValueAccess & { seen: () => string[] } {
  const reads = new Map<string, Promise<string>>();
  const seen: string[] = [];
  return {
    fingerprints: access.fingerprints,
    readValue: (store, version) => {
      const key = `${store.type}/${JSON.stringify(store)}/${version}`;
      let read = reads.get(key);
      if (!read) {
        read = access.readValue(store, version).then((v) => (seen.push(v), v));
        // A failed read is not cached: the next cluster (or attempt) tries again.
        read.catch(() => reads.delete(key));
        reads.set(key, read);
      }
      return read;
    },
    seen: () => seen,
  };
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

const isPermanent = (e: unknown) => e instanceof ApplicationFailure && e.nonRetryable;

/** One cluster's work at one step; throws (an ApplicationFailure for permanent trouble) when it fails. */
export type SyncOne = (cluster: ClusterTarget, signal: AbortSignal) => Promise<void>;

/**
 * Runs `syncOne` for every cluster of the batch, at most `parallelism` at once, and reports each
 * one ok or failed (with error text redacted against `secretsSeen`) instead of failing the
 * activity, so the workflow can name every failed cluster. Transient errors are retried a few
 * times in-process. Heartbeats the clusters done (resumed from on retry) and, with `persistent`
 * (restore, revoke), fails the activity while clusters failed transiently so Temporal retries them.
 * Must run inside an activity.
 */
export async function runClusterBatch(
  input: ClusterBatchInput,
  syncOne: SyncOne,
  secretsSeen: () => readonly string[],
): Promise<ClusterBatchReport> {
  const ctx = Context.current();
  const prior = ctx.info.heartbeatDetails as ClusterBatchProgress | undefined;
  const ok: string[] = [...(prior?.ok ?? [])];
  const alreadyOk = new Set(ok);
  const failed: ClusterOutcome[] = [];
  const limit = pLimit(Math.max(1, input.parallelism));
  let running = 0;
  const progress = (): ClusterBatchProgress => ({ ok, failed, running, total: input.clusters.length });

  const run = async (cluster: ClusterTarget): Promise<ClusterOutcome> => {
    running++;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await syncOne(cluster, ctx.cancellationSignal);
          ok.push(cluster.name);
          return { cluster: cluster.name, ok: true };
        } catch (e) {
          if (ctx.cancellationSignal.aborted) throw e;
          if (isPermanent(e) || attempt >= attemptsPerCluster) {
            const outcome: ClusterOutcome = {
              cluster: cluster.name,
              ok: false,
              error: redact(e instanceof Error ? e.message : String(e), secretsSeen()),
              ...(e instanceof ApplicationFailure && e.type ? { type: e.type } : {}),
            };
            failed.push(outcome);
            return outcome;
          }
          await pause(1000 * attempt, ctx.cancellationSignal);
        }
      }
    } finally {
      running--;
    }
  };
  const outcomes = await whileHeartbeating(
    () => ctx.heartbeat(progress()),
    1000,
    () =>
      Promise.all(
        input.clusters.map((c) =>
          alreadyOk.has(c.name) ? Promise.resolve({ cluster: c.name, ok: true }) : limit(() => run(c)),
        ),
      ),
  );
  const retryableTypes: readonly string[] = Object.values(RetryableErrorTypes);
  const transient = failed.filter((f) => !f.type || retryableTypes.includes(f.type));
  if (input.persistent && transient.length > 0) {
    // Record progress first: the retry only works on the clusters that are not done yet.
    ctx.heartbeat({ ...progress(), failed: [] });
    throw retryable(
      RetryableErrorTypes.kubernetes,
      `${input.step}: ${transient.length} cluster(s) not done yet, retrying them: ${batchSummary(input.step, transient)}`,
    );
  }
  return { step: input.step, outcomes, summary: batchSummary(input.step, outcomes) };
}

/** The per-cluster input of one batch cluster (with its rollout token, if it rolls out at this step). */
function clusterInputOf(input: ClusterBatchInput, cluster: ClusterTarget): ClusterInput {
  const token = input.rolloutTokens[cluster.name];
  return { cluster, rotation: input.rotation, versions: input.versions, ...(token ? { rolloutToken: token } : {}) };
}

/**
 * A `SyncOne` over per-cluster deliver/verify functions (the per-cluster activities' shape), for
 * callers that have those rather than the adapters (workflow tests with fake clusters).
 */
export function syncOneOver(
  input: ClusterBatchInput,
  steps: { deliverToCluster(i: ClusterInput): Promise<void>; verifyCluster(i: ClusterInput): Promise<unknown> },
): SyncOne {
  return async (cluster) => {
    const one = clusterInputOf(input, cluster);
    if (input.step !== 'verify') await steps.deliverToCluster(one);
    await steps.verifyCluster(one);
  };
}

/** Builds the batched cluster activity over injected Kubernetes clients and store access. */
export function createClusterBatchActivities(kube: KubeClients, access: ValueAccess) {
  /** One cluster, one step: deliver (unless verify), then prove the cluster reads back the versions. */
  async function syncOne(
    input: ClusterBatchInput,
    cluster: ClusterTarget,
    values: ReturnType<typeof versionValues>,
    signal: AbortSignal,
  ): Promise<void> {
    const token = input.rolloutTokens[cluster.name];
    const one = clusterInputOf(input, cluster);
    const fromReply = cluster.delivery === 'push' && !token;
    if (input.step !== 'verify') {
      if (cluster.delivery === 'push') {
        const applied = await deliverPush(kube, values, one, { restore: input.step === 'restore' });
        if (applied === noNamespace) return;
        if (fromReply && applied && checkSecret(applied, input.versions, access.fingerprints).ok) return;
      } else if (cluster.delivery === 'eso') await deliverEso(kube, one);
    } else if (fromReply) {
      // One GET proves most clusters; a Secret not (yet) right falls through to the watch below.
      const { core } = kube.forContext(contextOf(cluster));
      const secret = await core
        .readNamespacedSecret({ name: cluster.secretName, namespace: cluster.namespace })
        .catch(() => undefined);
      if (checkSecret(secret, input.versions, access.fingerprints).ok) return;
    }
    await verifyCluster(kube, access.fingerprints, one, { heartbeat: () => undefined, cancellationSignal: signal });
  }

  return {
    /**
     * Delivers and verifies every cluster of the batch (see `runClusterBatch`); push clusters are
     * verified from the apply reply or one GET, the rest by watching.
     */
    async syncClusterBatch(input: ClusterBatchInput): Promise<ClusterBatchReport> {
      const cache = cachedAccess(access);
      const values = versionValues(cache);
      return runClusterBatch(input, (cluster, signal) => syncOne(input, cluster, values, signal), cache.seen);
    },
  };
}

/** The batched cluster activity, as the batch child workflow calls it. */
export type ClusterBatchActivities = ReturnType<typeof createClusterBatchActivities>;
