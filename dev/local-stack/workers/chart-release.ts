/**
 * The worker chart (deploy/helm/rotor) installed with the stack's Helm into a namespace of
 * cluster-a, its pods exactly as the chart renders them: the restricted profile, the pod network,
 * probes. They reach the stack's loopback services through a pod gateway on cluster-a's node
 * (dev/local-stack/node/pod-gateway.ts); `stackAccess` starts one and gives the chart values that
 * point at it, which is all the local stack changes. The chart tests and the stack's `workers`
 * service (dev/local-stack/services/workers.ts) both install it with these.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { chartRbacValues } from '../../../cli/rbac-values';
import type { Playbook } from '../../../core/playbook/schema';
import { rbacFor } from '../../../inspect/rbac';
import type { RbacSubject } from '../../../inspect/rbac';
import { clusterNames, stackPaths } from '../config';
import type { ClusterName } from '../config';
import { helmBinary } from '../helm';
import { clusterCaPem, createOrReplace, kubeconfigFor, stackKubeconfig } from '../kube-clients';
import { importImages } from '../node/images';
import { stackNode } from '../node/instance';
import { gatewayAddress, gatewayPki, podGateway } from '../node/pod-gateway';
import type { GatewayTarget, PodGateway } from '../node/pod-gateway';
import { useStackEnv } from '../stack-env';
import { buildWorkerImage } from '../../image/worker-image';
import type { VaultKubernetesRole } from './vault-kubernetes-auth';
import type { WorkerImage } from '../../image/worker-image';

const run = promisify(execFile);
const chart = 'deploy/helm/rotor';
/** The name the apiservers' certificates carry that a host alias can point at the gateway. */
export const apiserverName = 'kubernetes.default.svc';

export interface ChartRelease {
  name: string;
  namespace: string;
  /** The Deployment the chart made (`<release>-rotor`). */
  deployment: string;
  /** The release's worker pods that are not being deleted. */
  pods(): Promise<V1Pod[]>;
  /** `helm upgrade` with `values` (replacing the release's values, not merged). */
  upgrade(values: Record<string, unknown>): Promise<void>;
  /** `helm uninstall`. */
  uninstall(): Promise<void>;
}

/** `helm <verb> <name> deploy/helm/rotor` with a values file of `values` (mode 0600, removed after). */
async function helmWithValues(helm: string, args: string[], values: Record<string, unknown>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-chart-release-'));
  const valuesFile = join(dir, 'values.yaml');
  writeFileSync(valuesFile, stringify(values), { mode: 0o600 });
  try {
    await run(helm, [...args, '-f', valuesFile], { maxBuffer: 16 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `helm upgrade --install <name> deploy/helm/rotor` into `namespace` of the kubeconfig's `context` with
 * `values` on top of the chart's. CRDs are skipped: the stack applies them.
 */
export async function installWorkerChart(
  kc: KubeConfig,
  o: { name: string; namespace: string; kubeconfigFile: string; context: string; values: Record<string, unknown> },
  log: (line: string) => void = console.log,
): Promise<ChartRelease> {
  const helm = await helmBinary({ paths: stackPaths(), log });
  const kube = ['--namespace', o.namespace, '--kubeconfig', o.kubeconfigFile, '--kube-context', o.context];
  // `upgrade --install`: a second `dev/stack up workers` brings the release to these values.
  await helmWithValues(helm, ['upgrade', '--install', o.name, chart, ...kube, '--skip-crds'], o.values);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    name: o.name,
    namespace: o.namespace,
    deployment: o.name.includes('rotor') ? o.name : `${o.name}-rotor`,
    async pods() {
      const list = await core.listNamespacedPod({
        namespace: o.namespace,
        labelSelector: `app.kubernetes.io/instance=${o.name}`,
      });
      return list.items.filter((p) => !p.metadata?.deletionTimestamp);
    },
    async upgrade(values) {
      await helmWithValues(helm, ['upgrade', o.name, chart, ...kube, '--skip-crds'], values);
    },
    async uninstall() {
      await run(helm, ['uninstall', o.name, ...kube]);
    },
  };
}

export interface StackAccess {
  /**
   * Chart values reaching the stack from cluster-a's pods: Temporal and Vault over TLS at the
   * gateway (the gateway CA in a Secret and a ConfigMap of `namespace`), and the in-cluster
   * apiserver as `kubernetes.default.svc:<port>` (a host alias to the gateway).
   */
  values: Record<string, unknown>;
  /** The server URL under which cluster-a's pods reach `cluster`'s apiserver (for a kubeconfig). */
  kubeServer(cluster: ClusterName): string;
  /** The stack's cluster CA (PEM), which signed every apiserver's certificate. */
  kubeCa: string;
  close(): Promise<void>;
}

const hostPort = (address: string): GatewayTarget => {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
};

/** Where the gateway forwards: the stack's services, or proxies in front of them; `listen` fixes its ports. */
export interface GatewayRoutes {
  vault?: string;
  kube?: Partial<Record<ClusterName, string>>;
  /** Fixed gateway ports per target (a long-lived gateway keeps its address across restarts); else free ones. */
  listen?: Partial<Record<'temporal' | 'vault' | ClusterName, number>>;
}

/**
 * The gateway's targets: the stack's Temporal and Vault (TLS terminated with `server`, which the
 * gateway CA signed) and the three apiservers (TCP, TLS end to end).
 */
export function gatewayTargets(
  server: { cert: string; key: string },
  o: GatewayRoutes = {},
): Record<string, GatewayTarget> {
  const env = useStackEnv();
  const base = stackKubeconfig();
  const at = (name: 'temporal' | 'vault' | ClusterName) =>
    o.listen?.[name] === undefined ? {} : { listen: o.listen[name] };
  const kubeTargets = Object.fromEntries(
    clusterNames.map((c) => {
      const address = o.kube?.[c] ?? base.clusters.find((x) => x.name === c)?.server;
      if (!address) throw new Error(`the stack's kubeconfig has no cluster ${c}`);
      return [c, { ...hostPort(address), ...at(c) }];
    }),
  );
  return {
    temporal: { ...hostPort(env['TEMPORAL_ADDRESS'] ?? ''), tls: { ...server, protocol: 'h2' }, ...at('temporal') },
    vault: {
      ...hostPort(o.vault ?? env['VAULT_ADDR'] ?? ''),
      tls: { ...server, protocol: 'http/1.1' },
      ...at('vault'),
    },
    ...kubeTargets,
  };
}

/** The name of the Secret and ConfigMap (key `ca.crt`) holding the gateway's CA in the release's namespace. */
export const gatewayCaName = 'stack-gateway-ca';

/** Writes the gateway's CA into `namespace` as Secret and ConfigMap `stack-gateway-ca` (replacing them). */
export async function writeGatewayCa(kc: KubeConfig, namespace: string, ca: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const metadata = { name: gatewayCaName };
  await createOrReplace(
    () => core.createNamespacedSecret({ namespace, body: { metadata, stringData: { 'ca.crt': ca } } }),
    () =>
      core.replaceNamespacedSecret({
        namespace,
        name: gatewayCaName,
        body: { metadata, stringData: { 'ca.crt': ca } },
      }),
  );
  await createOrReplace(
    () => core.createNamespacedConfigMap({ namespace, body: { metadata, data: { 'ca.crt': ca } } }),
    () =>
      core.replaceNamespacedConfigMap({ namespace, name: gatewayCaName, body: { metadata, data: { 'ca.crt': ca } } }),
  );
}

/** What `stackAccess` gives, without closing: the chart values for a gateway and its apiserver URLs. */
export function accessThrough(gateway: Pick<PodGateway, 'host' | 'address'>): Omit<StackAccess, 'close'> {
  const env = useStackEnv();
  const port = (c: ClusterName) => gateway.address(c).split(':')[1] ?? '';
  return {
    values: {
      temporal: {
        address: gateway.address('temporal'),
        namespace: env['TEMPORAL_NAMESPACE'],
        tls: { enabled: true, secretName: gatewayCaName },
      },
      vault: { address: `https://${gateway.address('vault')}`, caCert: { configMap: gatewayCaName, key: 'ca.crt' } },
      hostAliases: [{ ip: gateway.host, hostnames: [apiserverName] }],
      // In-cluster config reads these (the kubelet's own values name a ClusterIP nothing serves here).
      env: { KUBERNETES_SERVICE_HOST: apiserverName, KUBERNETES_SERVICE_PORT: port('cluster-a') },
    },
    kubeServer: (c) => `https://${apiserverName}:${port(c)}`,
    kubeCa: clusterCaPem(kubeconfigFor('cluster-a', stackKubeconfig())),
  };
}

/**
 * A pod gateway on cluster-a's node for the stack's Temporal, Vault (or `vault`, a proxy in front
 * of it) and the three apiservers (or proxies in `kube`), and the chart values using it. The
 * gateway's CA goes into `namespace` as Secret and ConfigMap `stack-gateway-ca` (key `ca.crt`).
 */
export async function stackAccess(kc: KubeConfig, o: { namespace: string } & GatewayRoutes): Promise<StackAccess> {
  const node = stackNode(stackPaths().stateDir, 'cluster-a');
  const dir = mkdtempSync(join(tmpdir(), 'rotor-pod-gateway-'));
  const pki = await gatewayPki(dir, gatewayAddress(node));
  const gateway = await podGateway(node, gatewayTargets(pki.server, o));
  const ca = readFileSync(pki.ca.cert, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  await writeGatewayCa(kc, o.namespace, ca);
  return { ...accessThrough(gateway), close: () => gateway.close() };
}

/**
 * The chart's kubeconfig Secret's `kubeconfig` for pods reaching the clusters through `access`:
 * cluster-a as the pod's own ServiceAccount, the others by token files (`<cluster>.token`, keys of
 * the same Secret, mounted under /etc/rotor/kubeconfig).
 */
export function podKubeconfig(access: Pick<StackAccess, 'kubeServer' | 'kubeCa'>): string {
  const tokenFile = (c: string) =>
    c === 'cluster-a' ? '/var/run/secrets/kubernetes.io/serviceaccount/token' : `/etc/rotor/kubeconfig/${c}.token`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusterNames.map((name) => ({
      name,
      cluster: {
        server: access.kubeServer(name),
        'certificate-authority-data': Buffer.from(access.kubeCa).toString('base64'),
      },
    })),
    users: clusterNames.map((name) => ({ name, user: { 'token-file': tokenFile(name) } })),
    contexts: clusterNames.map((name) => ({ name, context: { cluster: name, user: name } })),
    'current-context': 'cluster-a',
  });
}

/**
 * The values every installation on the stack shares: `access`'s, Vault's Kubernetes auth through
 * `vaultRole`, the keys Secret `rotor-keys`, the RBAC `rotor rbac` computes in cluster-a for
 * `playbooks` and `subject`, and the stack's single-tenant policy with `identity: claims` (rotations
 * start from a client, which the chart's default `identity: kubernetes` refuses; kube-identity.test.ts).
 * The requester identity policy is off (the stack applied it to cluster-a already), and so is the
 * ServiceMonitor.
 */
export function stackReleaseValues(o: {
  access: Pick<StackAccess, 'values'>;
  vaultRole: Pick<VaultKubernetesRole, 'role' | 'mount'>;
  playbooks: readonly Playbook[];
  subject: RbacSubject;
}): Record<string, unknown> {
  const env = useStackEnv();
  const stack = o.access.values as { vault: Record<string, unknown> };
  return {
    ...o.access.values,
    vault: {
      ...stack.vault,
      auth: { method: 'kubernetes', kubernetes: { role: o.vaultRole.role, mount: o.vaultRole.mount } },
    },
    keys: { secretName: 'rotor-keys' },
    policy: { ...(parse(readFileSync(env['ROTOR_POLICY_FILE'] ?? '', 'utf8')) as object), identity: 'claims' },
    rbac: chartRbacValues(
      o.playbooks.flatMap((p) => rbacFor(p, o.subject)),
      'cluster-a',
    ).rbac,
    requesterIdentityPolicy: { enabled: false },
    metrics: { serviceMonitor: { enabled: false } },
  };
}

/** The chart's `image` values for a built image imported into the node (never pulled). */
export function imageValues(image: WorkerImage): { repository: string; tag: string; pullPolicy: 'Never' } {
  const at = image.ref.lastIndexOf(':');
  return { repository: image.ref.slice(0, at), tag: image.ref.slice(at + 1), pullPolicy: 'Never' };
}

/** Builds (or takes from the cache) the worker image, `workflows` as buildWorkerImage says, and imports it into cluster-a's node. */
export async function workerImageOnNode(
  workflows?: string,
  log: (line: string) => void = console.log,
): Promise<WorkerImage> {
  const paths = stackPaths();
  const image = await buildWorkerImage(paths.cacheDir, log, workflows);
  await importImages(stackNode(paths.stateDir, 'cluster-a'), {
    file: image.file,
    digests: { [image.ref]: image.digest },
  });
  return image;
}

/** The Secret `rotor-keys` (the chart's `keys.secretName`) in `namespace`, with the stack's codec and fingerprint keys (replaced when it exists). */
export async function createKeysSecret(kc: KubeConfig, namespace: string): Promise<void> {
  const env = useStackEnv();
  const file = (name: string) => readFileSync(env[name] ?? '', 'utf8').trim();
  const core = kc.makeApiClient(CoreV1Api);
  const body = {
    metadata: { name: 'rotor-keys' },
    stringData: {
      'codec-keys': `default=${file('ROTOR_CODEC_KEY_FILE')}`,
      'fingerprint-keys': `default=${file('ROTOR_FINGERPRINT_KEY_FILE')}`,
    },
  };
  await createOrReplace(
    () => core.createNamespacedSecret({ namespace, body }),
    () => core.replaceNamespacedSecret({ namespace, name: 'rotor-keys', body }),
  );
}
