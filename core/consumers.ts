/**
 * Which pods consume a Secret, and how: pure classification of pod specs (no I/O), used by
 * `rotor plan` and the plan stage. A volume or projected volume is refreshed in place by the
 * kubelet; an env var, `envFrom` or a `subPath` mount never changes until the pod restarts.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { reportsReadsAnnotation } from './ids';

/** How a pod reads the Secret. */
export type ConsumerMode = 'volume' | 'projected' | 'env' | 'envFrom' | 'subPath';

/** Modes the kubelet never refreshes in a running container: only a rollout brings the new value. */
export const restartOnlyModes: readonly ConsumerMode[] = ['env', 'envFrom', 'subPath'];

/** A workload that owns pods, as far as rotor can roll it out or name it. */
export interface WorkloadRef {
  /** Deployment, StatefulSet, DaemonSet, Job, a ReplicaSet without Deployment, another owner's kind, or Pod (no owner). */
  kind: string;
  name: string;
}

/** One pod reading the Secret: its name, owning workload and every way it reads it. */
export interface PodConsumer {
  pod: string;
  workload: WorkloadRef;
  modes: ConsumerMode[];
  /** True when any mode is restart-only. */
  restartOnly: boolean;
  /** The container that reports what it read (opt-in, `rotor.dev/reports-reads`), when the pod opts in. */
  reportsReads?: string;
}

/** One cluster's consumers as the run's status shows them: the first pods and the counts. */
export interface ClusterConsumers {
  cluster: string;
  namespace: string;
  secretName: string;
  /** The first `consumersShownPerCluster` pods, sorted by name. */
  pods: PodConsumer[];
  total: number;
  restartOnly: number;
  reporting: number;
}

/** Pods per cluster carried in the plan's result and the status (history stays small for big namespaces). */
export const consumersShownPerCluster = 20;

/** The status's view of one cluster's consumers. */
export function clusterConsumers(
  where: { cluster: string; namespace: string; secretName: string },
  pods: readonly PodConsumer[],
): ClusterConsumers {
  return {
    ...where,
    pods: pods.slice(0, consumersShownPerCluster),
    total: pods.length,
    restartOnly: pods.filter((p) => p.restartOnly).length,
    reporting: pods.filter((p) => p.reportsReads !== undefined).length,
  };
}

/** One line per cluster, e.g. `cluster-a: 3 pod(s) read db/creds — 2 refreshed in place (1 reporting), 1 restart-only`. */
export function consumerLine(c: ClusterConsumers): string {
  if (c.total === 0) return `${c.cluster}: no pod reads ${c.namespace}/${c.secretName}`;
  const inPlace = c.total - c.restartOnly;
  return `${c.cluster}: ${c.total} pod(s) read ${c.namespace}/${c.secretName} — ${inPlace} refreshed in place${c.reporting ? ` (${c.reporting} reporting what they read)` : ''}, ${c.restartOnly} restart-only`;
}

const containersOf = (pod: V1Pod): V1Container[] => [
  ...(pod.spec?.initContainers ?? []),
  ...(pod.spec?.containers ?? []),
];

/** Every way `pod` reads Secret `secretName`, sorted and without repeats; empty when it does not. */
export function consumerModes(pod: V1Pod, secretName: string): ConsumerMode[] {
  const modes = new Set<ConsumerMode>();
  const volumes = new Map<string, ConsumerMode>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.secret?.secretName === secretName) volumes.set(v.name, 'volume');
    else if (v.projected?.sources?.some((s) => s.secret?.name === secretName)) volumes.set(v.name, 'projected');
  }
  for (const c of containersOf(pod)) {
    if (c.env?.some((e) => e.valueFrom?.secretKeyRef?.name === secretName)) modes.add('env');
    if (c.envFrom?.some((e) => e.secretRef?.name === secretName)) modes.add('envFrom');
    for (const m of c.volumeMounts ?? []) {
      const mode = volumes.get(m.name);
      if (mode) modes.add(m.subPath || m.subPathExpr ? 'subPath' : mode);
    }
  }
  return [...modes].sort();
}

/**
 * The workload owning a pod: its controller owner, with a ReplicaSet resolved to its Deployment
 * through `replicaSetOwners` (ReplicaSet name → owning Deployment name, when it has one).
 */
export function owningWorkload(pod: V1Pod, replicaSetOwners: ReadonlyMap<string, string>): WorkloadRef {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return { kind: 'Pod', name: pod.metadata?.name ?? '' };
  if (owner.kind === 'ReplicaSet') {
    const deployment = replicaSetOwners.get(owner.name);
    return deployment ? { kind: 'Deployment', name: deployment } : { kind: 'ReplicaSet', name: owner.name };
  }
  return { kind: owner.kind, name: owner.name };
}

/** The pods among `pods` that read `secretName`, each with its workload and modes, sorted by pod name. */
export function findConsumers(
  pods: readonly V1Pod[],
  secretName: string,
  replicaSetOwners: ReadonlyMap<string, string>,
): PodConsumer[] {
  return pods
    .map((pod) => ({ pod, modes: consumerModes(pod, secretName) }))
    .filter(({ modes }) => modes.length > 0)
    .map(({ pod, modes }) => {
      const reporter = pod.metadata?.annotations?.[reportsReadsAnnotation];
      return {
        pod: pod.metadata?.name ?? '',
        workload: owningWorkload(pod, replicaSetOwners),
        modes,
        restartOnly: modes.some((m) => restartOnlyModes.includes(m)),
        ...(reporter ? { reportsReads: reporter } : {}),
      };
    })
    .sort((a, b) => a.pod.localeCompare(b.pod));
}

/**
 * Restart-only consumers whose workload the playbook does not roll out: each would keep the old
 * value after revoke. One message per pod naming the pod, its workload, how it reads the Secret
 * and what to add to the playbook.
 */
export function unrolledRestartOnly(
  consumers: readonly PodConsumer[],
  listed: readonly { kind: string; name: string }[],
  where: { cluster: string; namespace: string; secretName: string },
): string[] {
  const rollable = new Set(['Deployment', 'StatefulSet']);
  return consumers
    .filter((c) => c.restartOnly && !listed.some((w) => w.kind === c.workload.kind && w.name === c.workload.name))
    .map((c) => {
      const how = c.modes.filter((m) => restartOnlyModes.includes(m)).join(', ');
      const fix = rollable.has(c.workload.kind)
        ? `add { kind: ${c.workload.kind}, name: ${c.workload.name} } to spec.clusters[${where.cluster}].workloads`
        : `${c.workload.kind} ${c.workload.name} cannot be rolled out by rotor: read the Secret through a volume instead`;
      return `${where.cluster}: pod ${where.namespace}/${c.pod} (${c.workload.kind} ${c.workload.name}) reads Secret ${where.secretName} through ${how}, which only a restart refreshes; ${fix}`;
    });
}
