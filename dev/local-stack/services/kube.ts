import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clusterNames, ports } from '../config';
import type { ClusterName } from '../config';
import { clusterPaths, kubePaths } from '../kube/paths';
import { ensurePki, readAdminToken } from '../kube/pki';
import { serverUrl, writeKubeconfigs } from '../kube/kubeconfig';
import { notOk, probe } from '../kube/probe';
import { applyRotorResources, managementCluster } from '../kube/rotor-resources';
import { loadCluster } from '../eso/kube';
import {
  ensurePortFree,
  logFileOf,
  portOpen,
  runningPid,
  runsWithOtherArgs,
  startProcess,
  stopProcess,
  waitHealthy,
} from '../process';
import type { StackContext, StackService } from '../service';
import { goBinary } from '../toolchain';
import type { GoBuild } from '../toolchain';

/** Kubernetes release the three API servers run. */
export const kubeVersion = 'v1.34.12';
/** etcd release behind them (kube-apiserver 1.34 supports etcd 3.5.x and 3.6.x). */
export const etcdVersion = 'v3.5.35';

const etcdId = 'kube-etcd';
const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
const apiserverId = (cluster: ClusterName) => `kube-apiserver-${cluster}`;
export const goModule = (name: string) => fileURLToPath(new URL(`../../go/${name}`, import.meta.url));

/** Version ldflags for Kubernetes binaries. */
// Without these ldflags /version reports v0.0.0-master, which clients and operators display.
export const versionLdflags = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']
  .flatMap((pkg) => {
    const [major, minor] = kubeVersion.slice(1).split('.');
    return [
      `gitVersion=${kubeVersion}`,
      `gitMajor=${major ?? ''}`,
      `gitMinor=${minor ?? ''}`,
      'gitTreeState=clean',
    ].map((kv) => `-X ${pkg}.${kv}`);
  })
  .join(' ');

const builds = {
  etcd: {
    name: 'etcd',
    version: etcdVersion,
    moduleDir: goModule('etcd'),
    pkg: 'go.etcd.io/etcd/server/v3',
    flags: ['-trimpath'],
  },
  apiserver: {
    name: 'kube-apiserver',
    version: kubeVersion,
    moduleDir: goModule('kube-apiserver'),
    pkg: 'k8s.io/kubernetes/cmd/kube-apiserver',
    flags: ['-trimpath', '-ldflags', `-s -w ${versionLdflags}`],
  },
  controllerManager: {
    name: 'kube-controller-manager',
    version: kubeVersion,
    moduleDir: goModule('kube-apiserver'),
    pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager',
    flags: ['-trimpath', '-ldflags', `-s -w ${versionLdflags}`],
  },
} satisfies Record<string, GoBuild>;

const controllerManagerId = (cluster: ClusterName) => `kube-controller-manager-${cluster}`;

/**
 * The controllers real workloads need on the stack's nodes: Deployments, StatefulSets, DaemonSets
 * and Jobs get pods, Ready nodes lose the not-ready taint they register with, namespaces get their `default` ServiceAccount and `kube-root-ca.crt`, finished
 * Jobs are cleaned up, and deleted namespaces really terminate.
 */
function controllerManagerArgs(ctx: StackContext, cluster: ClusterName): string[] {
  return [
    `--kubeconfig=${clusterPaths(ctx.paths.stateDir, cluster).kubeconfig}`,
    '--controllers=deployment,replicaset,statefulset,daemonset,job,ttl-after-finished,namespace,garbagecollector,serviceaccount,serviceaccount-token,root-ca-cert-publisher,nodelifecycle',
    `--service-account-private-key-file=${clusterPaths(ctx.paths.stateDir, cluster).saSigningKey}`,
    `--root-ca-file=${kubePaths(ctx.paths.stateDir).caCert}`,
    '--leader-elect=false',
    '--use-service-account-credentials=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${ports.kubeControllerManager[cluster]}`,
    `--cert-dir=${clusterPaths(ctx.paths.stateDir, cluster).dir}/controller-manager`,
    '--profiling=false',
  ];
}

/** One etcd member on loopback: the stack's, or a test's private one (own ports and data directory). */
export interface EtcdSpec {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
}

/** `etcd` arguments for a single-member cluster on loopback. */
export function etcdArgs(s: EtcdSpec): string[] {
  const client = `http://127.0.0.1:${s.clientPort}`;
  const peer = `http://127.0.0.1:${s.peerPort}`;
  return [
    `--name=${s.name}`,
    `--data-dir=${s.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${s.name}=${peer}`,
    '--log-level=warn',
  ];
}

const stackEtcd = (ctx: StackContext): EtcdSpec => ({
  name: 'rotor-kube',
  dataDir: kubePaths(ctx.paths.stateDir).etcdData,
  clientPort: ports.etcd,
  peerPort: ports.etcdPeer,
});

/** One kube-apiserver: certificates and tokens from `ensurePki(stateDir, [cluster])`. */
export interface ApiserverSpec {
  stateDir: string;
  cluster: ClusterName;
  port: number;
  etcdUrl: string;
  /** Distinct per server sharing the machine. */
  serviceClusterIpRange: string;
}

/** `kube-apiserver` arguments (RBAC, token auth, service-account issuer = its own URL). */
export function apiserverArgs(s: ApiserverSpec): string[] {
  const k = kubePaths(s.stateDir);
  const c = clusterPaths(s.stateDir, s.cluster);
  return [
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${s.port}`,
    `--cert-dir=${c.dir}`,
    `--tls-cert-file=${c.servingCert}`,
    `--tls-private-key-file=${c.servingKey}`,
    `--client-ca-file=${k.caCert}`,
    `--token-auth-file=${c.tokenFile}`,
    '--authorization-mode=Node,RBAC',
    `--etcd-servers=${s.etcdUrl}`,
    // One etcd, three clusters: each keeps its objects under its own key prefix.
    `--etcd-prefix=/registry-${s.cluster}`,
    // The issuer is the server URL, so OIDC discovery (/.well-known/openid-configuration) works for token verifiers.
    `--service-account-issuer=https://127.0.0.1:${s.port}`,
    `--service-account-key-file=${c.saPublicKey}`,
    `--service-account-signing-key-file=${c.saSigningKey}`,
    `--service-cluster-ip-range=${s.serviceClusterIpRange}`,
    // The `kubernetes` Service's endpoints may not be loopback addresses; nothing in-cluster needs them.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
  ];
}

const stackApiserver = (ctx: StackContext, cluster: ClusterName, index: number): ApiserverSpec => ({
  stateDir: ctx.paths.stateDir,
  cluster,
  port: ports.kube[cluster],
  etcdUrl,
  serviceClusterIpRange: `10.${96 + index}.0.0/16`,
});

async function etcdHealth(): Promise<string | undefined> {
  const reason = notOk(await probe(`${etcdUrl}/health`));
  return reason === undefined ? undefined : `etcd at ${etcdUrl}: ${reason}`;
}

async function apiserverHealth(ctx: StackContext, cluster: ClusterName): Promise<string | undefined> {
  const { caCert } = kubePaths(ctx.paths.stateDir);
  if (!existsSync(caCert) || !existsSync(clusterPaths(ctx.paths.stateDir, cluster).adminToken)) {
    return `${cluster}: no certificates or admin token yet (run 'dev/stack up kube')`;
  }
  const url = `${serverUrl(cluster)}/readyz`;
  const reason = notOk(
    await probe(url, { ca: readFileSync(caCert), token: readAdminToken(ctx.paths.stateDir, cluster) }),
  );
  return reason === undefined ? undefined : `${cluster}: kube-apiserver ${url}: ${reason}`;
}

/** Builds (cached) etcd, kube-apiserver and kube-controller-manager; returns their paths. */
export async function kubeBinaries(
  ctx: StackContext,
): Promise<{ etcd: string; apiserver: string; controllerManager: string }> {
  const [etcd, apiserver, controllerManager] = await Promise.all([
    goBinary(ctx, builds.etcd),
    goBinary(ctx, builds.apiserver),
    goBinary(ctx, builds.controllerManager),
  ]);
  return { etcd, apiserver, controllerManager };
}

async function controllerManagerHealth(ctx: StackContext, cluster: ClusterName): Promise<string | undefined> {
  if (runsWithOtherArgs(ctx, controllerManagerId(cluster), controllerManagerArgs(ctx, cluster))) {
    return `${cluster}: kube-controller-manager runs with outdated flags ('dev/stack up kube' restarts it)`;
  }
  return (await portOpen(ports.kubeControllerManager[cluster]))
    ? undefined
    : `${cluster}: kube-controller-manager not listening on ${ports.kubeControllerManager[cluster]}`;
}

/** Certificates, keys and tokens are made once; kubeconfigs are rewritten from them (same content). */
async function prepare(ctx: StackContext): Promise<void> {
  await ensurePki(ctx.paths.stateDir, clusterNames);
  writeKubeconfigs(ctx.paths.stateDir, clusterNames);
}

/**
 * Three real Kubernetes API servers (cluster-a, cluster-b, cluster-c) sharing one etcd, each with
 * its own etcd prefix, CA-signed serving certificate, service-account issuer and admin token, and a
 * kube-controller-manager per cluster, and rotor's CRDs with their admission policy on cluster-a
 * (the management cluster). Schedulers and kubelets are the `node` service.
 * Kubeconfigs: `stackEnv().KUBECONFIG` (contexts cluster-a/b/c) and `<stateDir>/kube/<cluster>.kubeconfig`.
 */
export const kube: StackService = {
  name: 'kube',
  version: kubeVersion,
  dependsOn: [],
  address: clusterNames.map(serverUrl).join(' '),

  async install(ctx) {
    await kubeBinaries(ctx);
    await prepare(ctx);
  },

  async start(ctx) {
    const bin = await kubeBinaries(ctx);
    await prepare(ctx);
    if (runningPid(ctx, etcdId) === undefined) {
      await ensurePortFree(ports.etcd, 'kube etcd');
      await ensurePortFree(ports.etcdPeer, 'kube etcd (peer port)');
      startProcess(ctx, etcdId, bin.etcd, etcdArgs(stackEtcd(ctx)));
    }
    await waitHealthy('kube etcd', etcdHealth, logFileOf(ctx, etcdId), 60_000);
    for (const [i, cluster] of clusterNames.entries()) {
      if (runningPid(ctx, apiserverId(cluster)) !== undefined) continue;
      await ensurePortFree(ports.kube[cluster], `kube ${cluster}`);
      startProcess(ctx, apiserverId(cluster), bin.apiserver, apiserverArgs(stackApiserver(ctx, cluster, i)));
    }
    // Waited for here, per server, so a failure shows that server's log rather than none.
    await Promise.all(
      clusterNames.map((c) =>
        waitHealthy(`kube ${c}`, () => apiserverHealth(ctx, c), logFileOf(ctx, apiserverId(c)), 240_000),
      ),
    );
    for (const cluster of clusterNames) {
      const args = controllerManagerArgs(ctx, cluster);
      if (runsWithOtherArgs(ctx, controllerManagerId(cluster), args)) {
        ctx.log(`${cluster}: restarting kube-controller-manager with the stack's current flags`);
        await stopProcess(ctx, controllerManagerId(cluster));
      }
      if (runningPid(ctx, controllerManagerId(cluster)) !== undefined) continue;
      await ensurePortFree(ports.kubeControllerManager[cluster], `kube ${cluster} controller-manager`);
      startProcess(ctx, controllerManagerId(cluster), bin.controllerManager, args);
    }
    await Promise.all(
      clusterNames.map((c) =>
        waitHealthy(
          `kube ${c} controller-manager`,
          () => controllerManagerHealth(ctx, c),
          logFileOf(ctx, controllerManagerId(c)),
          120_000,
        ),
      ),
    );
    // rotor's own resources on the management cluster (server-side apply: a re-run changes nothing).
    await applyRotorResources(loadCluster(ctx.paths, managementCluster));
  },

  async health(ctx) {
    const reasons = await Promise.all([
      etcdHealth(),
      ...clusterNames.map((c) => apiserverHealth(ctx, c)),
      ...clusterNames.map((c) => controllerManagerHealth(ctx, c)),
    ]);
    const failing = reasons.filter((r): r is string => r !== undefined);
    return failing.length ? failing.join('; ') : undefined;
  },
};
