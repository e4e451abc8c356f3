/**
 * Pure: how pods and workload pod templates consume a Secret. There is no kubelet to ask what a
 * container really read, so the pod spec is the evidence: volumes, `env[].valueFrom.secretKeyRef`,
 * `envFrom[].secretRef` and `subPath` mounts.
 */
import type { V1Container, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import type { PodSource } from '../adapters/kubernetes/inspect-reads';

/** How a container reads the Secret: a volume (updates in place) or a copy that never updates. */
export type ConsumeMode = 'volume' | 'env' | 'envFrom' | 'subPath';

export interface SecretConsumer {
  source: Pick<PodSource, 'kind' | 'name' | 'namespace'>;
  serviceAccount: string;
  modes: ConsumeMode[];
  /** Containers reading it through env, envFrom or subPath, for the finding's text. */
  staticContainers: string[];
}

const containersOf = (spec: V1PodSpec): V1Container[] => [
  ...(spec.initContainers ?? []),
  ...spec.containers,
  ...((spec.ephemeralContainers ?? []) as V1Container[]),
];

function volumeReads(v: V1Volume, secret: string): boolean {
  if (v.secret?.secretName === secret) return true;
  return !!v.projected?.sources?.some((s) => s.secret?.name === secret);
}

/** The modes in which one pod spec reads `secret`, and which containers read it statically. */
export function consumeModes(spec: V1PodSpec, secret: string): { modes: ConsumeMode[]; staticContainers: string[] } {
  const volumes = new Set((spec.volumes ?? []).filter((v) => volumeReads(v, secret)).map((v) => v.name));
  const modes = new Set<ConsumeMode>();
  const staticContainers = new Set<string>();
  for (const c of containersOf(spec)) {
    if (c.env?.some((e) => e.valueFrom?.secretKeyRef?.name === secret)) {
      modes.add('env');
      staticContainers.add(c.name);
    }
    if (c.envFrom?.some((e) => e.secretRef?.name === secret)) {
      modes.add('envFrom');
      staticContainers.add(c.name);
    }
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) continue;
      if (m.subPath || m.subPathExpr) {
        modes.add('subPath');
        staticContainers.add(c.name);
      } else modes.add('volume');
    }
  }
  return { modes: [...modes], staticContainers: [...staticContainers] };
}

/**
 * Every pod and template reading `secret` in its namespace. Pods made by a controller are
 * skipped: their template is reported once instead of each replica.
 */
export function secretConsumers(sources: PodSource[], secret: string): SecretConsumer[] {
  return sources
    .filter((s) => !s.owned)
    .flatMap((s) => {
      const { modes, staticContainers } = consumeModes(s.spec, secret);
      if (!modes.length) return [];
      return [
        {
          source: { kind: s.kind, name: s.name, namespace: s.namespace },
          serviceAccount: s.spec.serviceAccountName ?? 'default',
          modes,
          staticContainers,
        },
      ];
    });
}

/**
 * Heuristic: the pod gets a service-account token although it probably never calls the API —
 * the token is automounted (not turned off on the pod or on its ServiceAccount) and the pod runs
 * as the namespace's `default` ServiceAccount, which apps that use the API rarely keep.
 */
export function automountsDefaultToken(spec: V1PodSpec, defaultSaAutomount: boolean | undefined): boolean {
  if ((spec.serviceAccountName ?? 'default') !== 'default') return false;
  if (spec.automountServiceAccountToken !== undefined) return spec.automountServiceAccountToken;
  return defaultSaAutomount !== false;
}
