/**
 * The worker chart (deploy/helm/rotor) installed with the stack's Helm into a namespace of
 * cluster-a, its pods exactly as the chart renders them: the restricted profile, the pod network,
 * probes. They reach the stack's loopback services through a pod gateway on cluster-a's node
 * (dev/local-stack/node/pod-gateway.ts); `stackAccess` starts one and gives the chart values that
 * point at it, which is all the local stack changes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { clusterNames, stackPaths } from '../../dev/local-stack/config';
import type { ClusterName } from '../../dev/local-stack/config';
import { helmBinary } from '../../dev/local-stack/helm';
import { importImages } from '../../dev/local-stack/node/images';
import { stackNode } from '../../dev/local-stack/node/instance';
import { gatewayAddress, gatewayPki, podGateway } from '../../dev/local-stack/node/pod-gateway';
import type { GatewayTarget } from '../../dev/local-stack/node/pod-gateway';
import { buildWorkerImage } from '../../dev/image/worker-image';
import type { WorkerImage } from '../../dev/image/worker-image';
import { clusterCaPem, kubeconfigFor, stackKubeconfig } from './kube';
import { useStackEnv } from './stack-env';

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
 * `helm install <name> deploy/helm/rotor` into `namespace` of the kubeconfig's `context` with
 * `values` on top of the chart's. CRDs are skipped: the stack applies them.
 */
export async function installWorkerChart(
  kc: KubeConfig,
  o: { name: string; namespace: string; kubeconfigFile: string; context: string; values: Record<string, unknown> },
): Promise<ChartRelease> {
  const helm = await helmBinary({ paths: stackPaths(), log: (l) => console.log(l) });
  const kube = ['--namespace', o.namespace, '--kubeconfig', o.kubeconfigFile, '--kube-context', o.context];
  await helmWithValues(helm, ['install', o.name, chart, ...kube, '--skip-crds'], o.values);
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

/**
 * A pod gateway on cluster-a's node for the stack's Temporal, Vault (or `vault`, a proxy in front
 * of it) and the three apiservers (or proxies in `kube`), and the chart values using it. The
 * gateway's CA goes into `namespace` as Secret and ConfigMap `stack-gateway-ca` (key `ca.crt`).
 */
export async function stackAccess(
  kc: KubeConfig,
  o: { namespace: string; vault?: string; kube?: Partial<Record<ClusterName, string>> },
): Promise<StackAccess> {
  const env = useStackEnv();
  const paths = stackPaths();
  const node = stackNode(paths.stateDir, 'cluster-a');
  const dir = mkdtempSync(join(tmpdir(), 'rotor-pod-gateway-'));
  const pki = await gatewayPki(dir, gatewayAddress(node));
  const base = stackKubeconfig();
  const kubeTargets = Object.fromEntries(
    clusterNames.map((c) => {
      const server = o.kube?.[c] ?? base.clusters.find((x) => x.name === c)?.server;
      if (!server) throw new Error(`the stack's kubeconfig has no cluster ${c}`);
      return [c, hostPort(server)];
    }),
  );
  const gateway = await podGateway(node, {
    temporal: { ...hostPort(env['TEMPORAL_ADDRESS'] ?? ''), tls: { ...pki.server, protocol: 'h2' } },
    vault: { ...hostPort(o.vault ?? env['VAULT_ADDR'] ?? ''), tls: { ...pki.server, protocol: 'http/1.1' } },
    ...kubeTargets,
  });
  const ca = readFileSync(pki.ca.cert, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const core = kc.makeApiClient(CoreV1Api);
  const name = 'stack-gateway-ca';
  await core.createNamespacedSecret({
    namespace: o.namespace,
    body: { metadata: { name }, stringData: { 'ca.crt': ca } },
  });
  await core.createNamespacedConfigMap({
    namespace: o.namespace,
    body: { metadata: { name }, data: { 'ca.crt': ca } },
  });
  const port = (c: ClusterName) => gateway.address(c).split(':')[1] ?? '';
  return {
    values: {
      temporal: {
        address: gateway.address('temporal'),
        namespace: env['TEMPORAL_NAMESPACE'],
        tls: { enabled: true, secretName: name },
      },
      vault: { address: `https://${gateway.address('vault')}`, caCert: { configMap: name, key: 'ca.crt' } },
      hostAliases: [{ ip: gateway.host, hostnames: [apiserverName] }],
      // In-cluster config reads these (the kubelet's own values name a ClusterIP nothing serves here).
      env: { KUBERNETES_SERVICE_HOST: apiserverName, KUBERNETES_SERVICE_PORT: port('cluster-a') },
    },
    kubeServer: (c) => `https://${apiserverName}:${port(c)}`,
    kubeCa: clusterCaPem(kubeconfigFor('cluster-a', base)),
    close: () => gateway.close(),
  };
}

/** The chart's `image` values for a built image imported into the node (never pulled). */
export function imageValues(image: WorkerImage): { repository: string; tag: string; pullPolicy: 'Never' } {
  const at = image.ref.lastIndexOf(':');
  return { repository: image.ref.slice(0, at), tag: image.ref.slice(at + 1), pullPolicy: 'Never' };
}

/** Builds (or takes from the cache) the worker image, `workflows` as buildWorkerImage says, and imports it into cluster-a's node. */
export async function workerImageOnNode(workflows?: string): Promise<WorkerImage> {
  const paths = stackPaths();
  const image = await buildWorkerImage(paths.cacheDir, (l) => console.log(l), workflows);
  await importImages(stackNode(paths.stateDir, 'cluster-a'), {
    file: image.file,
    digests: { [image.ref]: image.digest },
  });
  return image;
}

/** The Secret `rotor-keys` (the chart's `keys.secretName`) in `namespace`, with the stack's codec and fingerprint keys. */
export async function createKeysSecret(kc: KubeConfig, namespace: string): Promise<void> {
  const env = useStackEnv();
  const file = (name: string) => readFileSync(env[name] ?? '', 'utf8').trim();
  await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'rotor-keys' },
      stringData: {
        'codec-keys': `default=${file('ROTOR_CODEC_KEY_FILE')}`,
        'fingerprint-keys': `default=${file('ROTOR_FINGERPRINT_KEY_FILE')}`,
      },
    },
  });
}
