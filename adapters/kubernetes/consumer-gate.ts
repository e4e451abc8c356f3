/**
 * One cluster's consumer gate: touch every in-place consumer pod (an annotation, so its kubelet
 * resyncs the mounted Secret now instead of within its sync period), then wait until each one
 * reported reading the Secret as delivered (opt-in log line) or, if it does not report, its settle
 * time passed; restart-only consumers must run from after the new Secret (revoke). Values stay
 * here: digests are compared in memory, and what leaves names pods, keys and versions only.
 */
import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import type { PodConsumer } from '../../core/consumers';
import { absentDigest, judgeReads, parseReadsLine } from '../../core/gate';
import type { GateInput, GateOutcome } from '../../core/gate';
import { readsLinePrefix, reportsReadsAnnotation, resyncAnnotation, rolloutAnnotation } from '../../core/ids';
import { judgeReaderIds, readerRole } from '../../core/verifiers';
import type { ClusterTarget } from '../../core/playbook/schema';
import type { KubeClients } from './clients';
import { contextOf, whereOf } from './clients';
import { listConsumerPods, listVerifierPods } from './consumers';
import type { FleetLists } from './fleet-lists';
import { errorText, statusCode } from './errors';
import { mergePatch } from './patch';

/** The digest a reporting consumer prints for a value it read: sha256 over `<pod uid>:<value>`, 32 hex digits. */
export function readsDigest(podUid: string, value: string): string {
  return createHash('sha256').update(`${podUid}:${value}`).digest('hex').slice(0, 32);
}

/** The values the cluster's Secret holds now, by version (read from the store by the caller). */
export interface GateValues {
  current: { version: string; value: string };
  other: { version: string; value: string } | null;
  /** With `GateInput.readers`: the ids of those versions (kids, CA fingerprints) every reader must hold. */
  readerIds?: string[];
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** The pod's latest report since `since` (epoch ms), from its log; a reason when there is none. */
async function latestReport(
  kube: KubeClients,
  cluster: ClusterTarget,
  pod: V1Pod,
  container: string,
  since: number,
): Promise<Map<string, string> | string> {
  const { core } = kube.forContext(contextOf(cluster));
  let log: string;
  try {
    log = await core.readNamespacedPodLog({
      name: pod.metadata?.name ?? '',
      namespace: cluster.namespace,
      container,
      timestamps: true,
      sinceSeconds: Math.max(1, Math.ceil((Date.now() - since) / 1000) + 1),
      tailLines: 50,
    });
  } catch (e) {
    return `log of container ${container} not readable yet (${statusCode(e) ?? errorText(e)})`;
  }
  let latest: Map<string, string> | undefined;
  for (const line of log.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0 || Date.parse(line.slice(0, space)) < since) continue;
    latest = parseReadsLine(line.slice(space + 1), readsLinePrefix) ?? latest;
  }
  return latest ?? `no ${readsLinePrefix} line since the touch`;
}

/** A restart-only pod reads the new version once it runs from the promote rollout or started after the swap. */
function restartedWithNew(pod: V1Pod, input: GateInput): boolean {
  if (input.rolloutToken && pod.metadata?.annotations?.[rolloutAnnotation] === input.rolloutToken) return true;
  const started = pod.status?.startTime ? new Date(pod.status.startTime).getTime() : undefined;
  return input.swappedAt !== undefined && started !== undefined && started > input.swappedAt;
}

/**
 * Gates one cluster (see the file comment). Returns ok, or, after `input.boundMs`, not ok naming
 * every pod still waited for and why. Re-lists pods each round: a rollout's new pods are gated too.
 * The first round may come from `firstLists`, the fleet's lists shared per apiserver: a pod that
 * started after they were taken read the Secret as delivered by then, so it needs no wait.
 */
export async function gateCluster(
  kube: KubeClients,
  input: GateInput,
  cluster: ClusterTarget,
  values: GateValues,
  signal: AbortSignal,
  note: (waitingFor: string) => void,
  firstLists?: FleetLists,
): Promise<GateOutcome> {
  const started = Date.now();
  const token = `${input.rotation.runId}/${input.step}`;
  const touchedAt = new Map<string, number>();
  const { core } = kube.forContext(contextOf(cluster));
  const { currentKey, otherKey } = input.versions;
  // Annotate a pod once per gate (its kubelet then resyncs its volumes now); when it was touched.
  const touch = async (pod: V1Pod): Promise<number> => {
    const uid = pod.metadata?.uid ?? '';
    const at = touchedAt.get(uid);
    if (at !== undefined) return at;
    if (pod.metadata?.annotations?.[resyncAnnotation] !== token) {
      const body = { metadata: { annotations: { [resyncAnnotation]: token } } };
      await core
        .patchNamespacedPod({ name: pod.metadata?.name ?? '', namespace: cluster.namespace, body }, mergePatch)
        .catch((e: unknown) => {
          if (statusCode(e) !== 404) throw e;
        });
    }
    const now = Date.now();
    touchedAt.set(uid, now);
    return now;
  };
  for (let round = 0; ; round++) {
    const pods = await listConsumerPods(kube, cluster, round === 0 ? firstLists : undefined);
    const waiting: string[] = [];
    const counts = { reported: 0, settled: 0, restarted: 0 };
    for (const { pod, consumer } of pods) {
      const name = pod.metadata?.name ?? '';
      const uid = pod.metadata?.uid ?? '';
      if (pod.metadata?.deletionTimestamp) {
        // A stopping pod may still log in with what it holds; revoke waits until it is gone.
        if (input.step === 'revoke') waiting.push(`${name}: terminating`);
        continue;
      }
      // A pod not yet running reads the Secret as it is when its containers start; a finished one reads nothing.
      if (pod.status?.phase !== 'Running') continue;
      if (consumer.restartOnly) {
        if (input.step !== 'revoke' || restartedWithNew(pod, input)) counts.restarted++;
        else waiting.push(`${name}: ${modesOf(consumer)}, not yet restarted with the new Secret`);
        continue;
      }
      const since = await touch(pod);
      if (consumer.reportsReads) {
        const report = await latestReport(kube, cluster, pod, consumer.reportsReads, since);
        if (typeof report === 'string') {
          waiting.push(`${name}: ${report}`);
          continue;
        }
        const digest = (v: { value: string } | null) => (v ? readsDigest(uid, v.value) : null);
        const known = new Map([[digest(values.current) ?? '', values.current.version]]);
        if (values.other) known.set(digest(values.other) ?? '', values.other.version);
        const verdict = judgeReads(
          report,
          { currentKey, current: digest(values.current) ?? '', otherKey, other: digest(values.other) },
          (d) => (d === absentDigest ? undefined : known.get(d)),
        );
        if (verdict.ok) counts.reported++;
        else waiting.push(`${name}: ${verdict.why}`);
      } else if (Date.now() - since >= input.settleMs) counts.settled++;
      else waiting.push(`${name}: settling after the touch`);
    }
    // Readers of the published ConfigMap (a JWKS's verifiers, a trust bundle's clients), which may
    // not mount the Secret at all: they must read every id the step needs before signers switch
    // keys or servers present leaves of the new CA; the kubelet would copy it only at its next sync.
    const { readers } = input;
    const verifiers = readers ? await listVerifierPods(kube, cluster, readers.configMap) : [];
    for (const pod of verifiers) {
      const name = pod.metadata?.name ?? '';
      if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running' || !readers) continue;
      const role = readerRole(readers.holds);
      const since = await touch(pod);
      const reporter = pod.metadata?.annotations?.[reportsReadsAnnotation];
      if (reporter) {
        const report = await latestReport(kube, cluster, pod, reporter, since);
        const verdict =
          typeof report === 'string'
            ? { ok: false, why: report }
            : judgeReaderIds(report, readers.key, readers.holds, values.readerIds ?? []);
        if (verdict.ok) counts.reported++;
        else waiting.push(`${name} (${role}): ${verdict.why}`);
      } else if (Date.now() - since >= input.settleMs) counts.settled++;
      else waiting.push(`${name} (${role}): settling after the touch`);
    }
    const waitedMs = Date.now() - started;
    const base = { cluster: cluster.name, pods: pods.length + verifiers.length, ...counts, waitedMs };
    if (waiting.length === 0) return { ...base, ok: true, detail: 'every consumer can read what it needs' };
    if (waitedMs >= input.boundMs || signal.aborted) {
      return {
        ...base,
        ok: false,
        detail: `${whereOf(cluster)}: after ${Math.round(waitedMs / 1000)}s still waiting for ${waiting.length} consumer pod(s): ${waiting.slice(0, 5).join('; ')}${waiting.length > 5 ? '; …' : ''}`,
      };
    }
    note(`${waiting.length} pod(s): ${waiting.slice(0, 3).join('; ')}`);
    await pause(500, signal);
  }
}

const modesOf = (c: PodConsumer) => `reads it through ${c.modes.join(', ')}`;
