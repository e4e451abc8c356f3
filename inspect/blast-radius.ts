import type { KubeConfig } from '@kubernetes/client-node';
import { createKubeClients } from '../adapters/kubernetes/clients';
import type { KubeClients } from '../adapters/kubernetes/clients';
import { kidsOf } from '../adapters/credentials/jwk';
import { describeJwks, readJwks } from '../adapters/kubernetes/jwks';
import { readConfigMapKey } from '../adapters/kubernetes/configmap-key';
import { listVerifierPods } from '../adapters/kubernetes/consumers';
import { bundleCerts } from '../adapters/credentials/vault-pki-ca-pem';
import { publishedReaders } from '../core/gate';
import { reportsReadsAnnotation } from '../core/ids';
import { errorText } from '../adapters/kubernetes/errors';
import { clusterPlan } from './cluster-plan';
import type { ClusterPlan } from './cluster-plan';
import { findUnlistedConsumers } from './unlisted-consumers';
import type { UnlistedConsumersResult } from './unlisted-consumers';
import type { Playbook } from '../core/playbook/schema';

/** What `rotor plan` shows: everything a rotation would touch, and consumers the playbook misses. */
export interface BlastRadius {
  secret: string;
  store: Playbook['spec']['secret']['store'];
  waves: string[][];
  clusters: ClusterPlan[];
  unlisted: UnlistedConsumersResult;
  /** A `jwt-signing-key`'s JWKS ConfigMaps, one per cluster target, as they are now. */
  jwks?: JwksPlan[];
  /** A `vault-pki-ca-rollover`'s trust-bundle ConfigMaps, one per cluster target (`kids`: the CAs' fingerprints). */
  bundle?: JwksPlan[];
  /** Per cluster name, pods mounting the published ConfigMap (verifiers, bundle readers): the gate waits for them. */
  readers?: Record<string, ReaderPod[]>;
}

/** A pod reading the published ConfigMap; `reportsReads` names the container that reports what it read. */
export interface ReaderPod {
  pod: string;
  reportsReads?: string;
}

/** One JWKS ConfigMap a `jwt-signing-key` rotation would change. */
export interface JwksPlan {
  /** `configmap <ns>/<name> key <key> in cluster <c>`. */
  where: string;
  exists: boolean;
  /** The kids it publishes now (public). */
  kids: string[];
  /** Why it could not be read, when it could not. */
  problem?: string;
}

/**
 * Each ConfigMap the kind publishes into, as it is now: a `jwt-signing-key`'s JWKS (its kids) or a
 * `vault-pki-ca-rollover`'s trust bundle (its CAs' fingerprints); none for other kinds.
 */
async function publishedPlan(kube: KubeClients, playbook: Playbook): Promise<JwksPlan[] | undefined> {
  const cred = playbook.spec.credential;
  const readers = publishedReaders(cred);
  if (!readers) return undefined;
  const at = { configMap: readers.configMap, key: readers.key };
  const targets =
    cred.kind === 'jwt-signing-key'
      ? cred.jwks.targets
      : cred.kind === 'vault-pki-ca-rollover'
        ? cred.bundle.targets
        : [];
  return Promise.all(
    (targets ?? []).map(async (t): Promise<JwksPlan> => {
      const where = describeJwks(t, at);
      try {
        if (readers.holds === 'kid') {
          const jwks = await readJwks(kube, t, at);
          return { where, exists: jwks !== undefined, kids: jwks ? kidsOf(jwks) : [] };
        }
        const found = await readConfigMapKey(kube, t, at);
        return {
          where,
          exists: found.exists,
          kids: found.exists ? bundleCerts(found.text).map((c) => c.fingerprint) : [],
        };
      } catch (e) {
        return { where, exists: false, kids: [], problem: (e as Error).message || errorText(e) };
      }
    }),
  );
}

/** Per cluster, the pods mounting the kind's published ConfigMap: the gate waits for them too. */
async function readersPlan(kube: KubeClients, playbook: Playbook): Promise<Map<string, ReaderPod[]>> {
  const readers = publishedReaders(playbook.spec.credential);
  const byCluster = new Map<string, ReaderPod[]>();
  if (!readers) return byCluster;
  await Promise.all(
    playbook.spec.clusters.map(async (c) => {
      const pods = await listVerifierPods(kube, c, readers.configMap).catch(() => []);
      byCluster.set(
        c.name,
        pods.map((p) => {
          const reports = p.metadata?.annotations?.[reportsReadsAnnotation];
          return { pod: p.metadata?.name ?? '?', ...(reports ? { reportsReads: reports } : {}) };
        }),
      );
    }),
  );
  return byCluster;
}

/**
 * Reads, without changing anything, every cluster, namespace, ExternalSecret, Secret and workload
 * the playbook's rotation would touch, and scans the kubeconfig's other contexts for
 * ExternalSecrets that read the same store entry (consumers the playbook does not list).
 */
export async function blastRadius(playbook: Playbook, kubeconfig: KubeConfig): Promise<BlastRadius> {
  const kube = createKubeClients(kubeconfig);
  const { spec } = playbook;
  const [clusters, unlisted, published, readers] = await Promise.all([
    Promise.all(spec.clusters.map((cluster) => clusterPlan(kube, { cluster, store: spec.secret.store }))),
    findUnlistedConsumers(kube, { store: spec.secret.store, listedClusters: spec.clusters }),
    publishedPlan(kube, playbook),
    readersPlan(kube, playbook),
  ]);
  const kind = spec.credential.kind;
  return {
    secret: spec.secret.name,
    store: spec.secret.store,
    waves: spec.waves ?? [spec.clusters.map((c) => c.name)],
    clusters,
    unlisted,
    ...(published ? (kind === 'jwt-signing-key' ? { jwks: published } : { bundle: published }) : {}),
    ...(readers.size ? { readers: Object.fromEntries(readers) } : {}),
  };
}

/** Human-readable plan, one line per object; flags unlisted consumers first-class. */
export function renderBlastRadius(b: BlastRadius): string {
  const store =
    b.store.type === 'vault'
      ? `vault ${b.store.mount}/${b.store.path}#${b.store.key}`
      : `aws ${b.store.secretId}${b.store.key ? `#${b.store.key}` : ''}`;
  const lines = [`secret ${b.secret} (${store})`, `waves: ${b.waves.map((w) => `[${w.join(', ')}]`).join(' → ')}`];
  for (const c of b.clusters) {
    lines.push(`cluster ${c.cluster} (context ${c.context}, ${c.delivery})`);
    lines.push(`  namespace ${c.namespace}${c.namespaceExists ? '' : ' (missing)'}`);
    lines.push(
      `  secret ${c.secret.name}${c.secret.exists ? ` keys [${c.secret.keys.join(', ')}]` : ' (will be created)'}`,
    );
    for (const es of c.externalSecrets)
      lines.push(
        `  externalsecret ${es.name} store ${es.store}${es.refreshInterval ? ` refresh ${es.refreshInterval}` : ''}${es.problem ? ` — ${es.problem}` : ''}`,
      );
    for (const w of c.workloads) lines.push(`  ${w.kind.toLowerCase()} ${w.name}${w.found ? '' : ' (not found)'}`);
    for (const k of c.consumers) {
      const how = `${k.modes.join(', ')}${k.restartOnly ? ' (restart-only)' : ' (refreshed in place)'}`;
      const reports = k.reportsReads ? `; reports what it read (container ${k.reportsReads})` : '';
      lines.push(`  consumer pod ${k.pod} of ${k.workload.kind} ${k.workload.name} reads it through ${how}${reports}`);
    }
    for (const r of b.readers?.[c.cluster] ?? [])
      lines.push(
        `  reader pod ${r.pod} mounts the ${b.jwks ? 'JWKS' : 'trust bundle'}${r.reportsReads ? `; reports what it read (container ${r.reportsReads})` : '; waited for its settle time after a touch'}`,
      );
    for (const p of c.problems) lines.push(`  ! ${p}`);
  }
  for (const j of b.jwks ?? []) {
    const state = j.problem
      ? `! could not read: ${j.problem}`
      : j.exists
        ? `publishes kids [${j.kids.join(', ')}]; the new key is added beside the current one`
        : 'will be created';
    lines.push(`jwks ${j.where}: ${state}`);
  }
  for (const j of b.bundle ?? []) {
    const state = j.problem
      ? `! could not read: ${j.problem}`
      : j.exists
        ? `trusts CAs [${j.kids.join(', ')}]; the new CA is added beside them`
        : 'will be created';
    lines.push(`trust bundle ${j.where}: ${state}`);
  }
  for (const u of b.unlisted.consumers) {
    lines.push(
      `! UNLISTED consumer in ${u.context}: externalsecret ${u.namespace}/${u.externalSecret} → secret ${u.secretName} reads this store entry, but the playbook does not list that cluster`,
    );
  }
  for (const u of b.unlisted.unscanned) lines.push(`? could not scan ${u.context}: ${u.reason}`);
  return lines.join('\n');
}
