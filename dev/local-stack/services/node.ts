import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterNames, ports } from '../config';
import type { ClusterName } from '../config';
import { ensureClientCert } from '../kube/pki';
import { writeClientKubeconfig } from '../kube/kubeconfig';
import { cniBinDir } from '../node/containerd';
import { buildImageArchive, redisCli } from '../node/images';
import { schedulerPaths, stackNode } from '../node/instance';
import { nodeHealth, nodeState, startNode, stopNode } from '../node/lifecycle';
import { unmountUnder } from '../node/teardown';
import { ensurePortFree, logFileOf, portOpen, runningPid, startProcess, stopProcess, waitHealthy } from '../process';
import type { StackContext, StackService } from '../service';
import { ensureDebianPackages, goBinary, which } from '../toolchain';
import type { GoBuild } from '../toolchain';
import { goModule, kubeVersion, versionLdflags } from './kube';
import { helmBinary } from '../helm';

const nodeBuild = (name: string): GoBuild => ({
  name,
  version: kubeVersion,
  moduleDir: goModule('kubelet'),
  pkg: `k8s.io/kubernetes/cmd/${name}`,
  flags: ['-trimpath', '-ldflags', `-s -w ${versionLdflags}`],
});

/** What the nodes need from Debian: containerd 1.6 with ctr, runc, the CNI plugins, busybox for images. */
const debianPackages = ['containerd', 'runc', 'containernetworking-plugins', 'busybox-static'];
const packagesPresent = () =>
  ['containerd', 'ctr', 'runc', 'ip'].every((c) => which(c) !== undefined) &&
  ['bridge', 'host-local', 'loopback', 'portmap'].every((p) => existsSync(join(cniBinDir, p))) &&
  existsSync('/bin/busybox');

/**
 * Paths outside the state directory that kubelets and containerd 1.6 write whatever their flags
 * say (device-plugin sockets, container log links, shim sockets). `down` removes those the stack
 * created; ones that existed before are left alone.
 */
const hostPaths = ['/var/lib/kubelet', '/var/log/containers', '/run/containerd'];
const createdMarker = (ctx: StackContext) => join(ctx.paths.stateDir, 'node', 'created-host-paths');

function recordHostPaths(ctx: StackContext): void {
  if (existsSync(createdMarker(ctx))) return;
  mkdirSync(join(ctx.paths.stateDir, 'node'), { recursive: true });
  writeFileSync(createdMarker(ctx), hostPaths.filter((p) => !existsSync(p)).join('\n'));
}

async function removeCreatedHostPaths(ctx: StackContext): Promise<void> {
  if (!existsSync(createdMarker(ctx))) return;
  for (const p of readFileSync(createdMarker(ctx), 'utf8').split('\n').filter(Boolean)) {
    await unmountUnder(p);
    rmSync(p, { recursive: true, force: true });
  }
  rmSync(createdMarker(ctx));
}

const schedulerId = (cluster: ClusterName) => `node-scheduler-${cluster}`;

function schedulerArgs(ctx: StackContext, cluster: ClusterName): string[] {
  return [
    `--kubeconfig=${schedulerPaths(ctx.paths.stateDir, cluster).kubeconfig}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${ports.kubeScheduler[cluster]}`,
    '--profiling=false',
  ];
}

async function schedulerHealth(cluster: ClusterName): Promise<string | undefined> {
  return (await portOpen(ports.kubeScheduler[cluster]))
    ? undefined
    : `${cluster}: kube-scheduler not listening on ${ports.kubeScheduler[cluster]}`;
}

async function startScheduler(ctx: StackContext, cluster: ClusterName, bin: string): Promise<void> {
  const p = schedulerPaths(ctx.paths.stateDir, cluster);
  await ensureClientCert(ctx.paths.stateDir, p, 'system:kube-scheduler');
  writeClientKubeconfig(ctx.paths.stateDir, cluster, p.kubeconfig, 'system:kube-scheduler', p);
  if (runningPid(ctx, schedulerId(cluster)) === undefined) {
    await ensurePortFree(ports.kubeScheduler[cluster], `${cluster} kube-scheduler`);
    startProcess(ctx, schedulerId(cluster), bin, schedulerArgs(ctx, cluster));
  }
  await waitHealthy(`${cluster} kube-scheduler`, () => schedulerHealth(cluster), logFileOf(ctx, schedulerId(cluster)));
}

/** Builds (cached) kubelet and kube-scheduler v1.34 from Go modules; returns their paths. */
export async function nodeBinaries(ctx: StackContext): Promise<{ kubelet: string; scheduler: string }> {
  const [kubelet, scheduler] = await Promise.all([
    goBinary(ctx, nodeBuild('kubelet')),
    goBinary(ctx, nodeBuild('kube-scheduler')),
  ]);
  return { kubelet, scheduler };
}

/** Per cluster: the node's Ready state as the API server reports it. */
export async function nodeStates(ctx: StackContext): Promise<{ cluster: ClusterName; node: string; state: string }[]> {
  return Promise.all(
    clusterNames.map(async (cluster) => {
      const node = stackNode(ctx.paths.stateDir, cluster);
      return { cluster, node: node.name, state: await nodeState(ctx, node) };
    }),
  );
}

/**
 * A real node per cluster: a kube-scheduler, a containerd of its own (Debian's package) with a CNI
 * bridge network, and a kubelet (v1.34 from Go modules) registered as Node `localhost`. Pods of
 * ordinary Deployments, StatefulSets and Jobs run as real containers, from the locally built images
 * in `nodeImages` (`imagePullPolicy: Never`).
 */
export const node: StackService = {
  name: 'node',
  version: kubeVersion,
  // The tools image carries psql and the mariadb client, which their servers' packages install.
  dependsOn: ['kube', 'postgres', 'mariadb'],
  address: clusterNames.map((c) => `kubelet 127.0.0.1:${ports.kubelet[c]}`).join(' '),

  async install(ctx) {
    await ensureDebianPackages(ctx, 'containerd, runc and the CNI plugins', debianPackages, packagesPresent);
    // The tools image carries redis-cli for consumer pods of Redis credentials.
    await ensureDebianPackages(ctx, 'redis-cli', ['redis-tools'], () => existsSync(redisCli));
    // Helm for the worker chart (deploy/helm/rotor): its tests lint, render and install it here.
    await Promise.all([nodeBinaries(ctx), helmBinary(ctx)]);
  },

  async start(ctx) {
    const bin = await nodeBinaries(ctx);
    recordHostPaths(ctx);
    const images = await buildImageArchive(ctx);
    for (const cluster of clusterNames) await startScheduler(ctx, cluster, bin.scheduler);
    await Promise.all(clusterNames.map((c) => startNode(ctx, stackNode(ctx.paths.stateDir, c), bin.kubelet, images)));
  },

  async stop(ctx) {
    // Schedulers first: pods that controllers re-create while nodes drain then stay Pending.
    for (const cluster of clusterNames) await stopProcess(ctx, schedulerId(cluster));
    await Promise.all(clusterNames.map((c) => stopNode(ctx, stackNode(ctx.paths.stateDir, c))));
    await removeCreatedHostPaths(ctx);
  },

  async health(ctx) {
    const reasons = await Promise.all(
      clusterNames.flatMap((c) => [schedulerHealth(c), nodeHealth(ctx, stackNode(ctx.paths.stateDir, c))]),
    );
    const failing = reasons.filter((r): r is string => r !== undefined);
    return failing.length ? failing.join('; ') : undefined;
  },

  async details(ctx) {
    return { nodes: await nodeStates(ctx) };
  },
};
