import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import type { StackContext } from '../service';
import { isAlive, sleep } from '../process';
import { describeError, loadCluster } from '../eso/kube';
import type { NodeInstance } from './instance';

const run = promisify(execFile);

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `dir`, deepest first; a busy mount is detached lazily. */
export async function unmountUnder(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) {
    await run('umount', [m]).catch(() => run('umount', ['-l', m]).catch(() => undefined));
  }
}

/**
 * Deletes every pod bound to the node and waits until the kubelet has stopped their containers
 * and confirmed the deletions; pods still there after `timeoutMs` are deleted with grace 0.
 * Callers stop the scheduler first, so pods that controllers re-create stay Pending.
 */
export async function deleteNodePods(ctx: StackContext, node: NodeInstance, timeoutMs = 60_000): Promise<void> {
  const fieldSelector = `spec.nodeName=${node.name}`;
  let core: CoreV1Api | undefined;
  const api = () => (core ??= loadCluster(ctx.paths, node.cluster).makeApiClient(CoreV1Api));
  const list = async () => (await api().listPodForAllNamespaces({ fieldSelector })).items;
  const remove = (gracePeriodSeconds: number) =>
    list().then((pods) =>
      Promise.all(
        pods.map((p) =>
          api()
            .deleteNamespacedPod({
              name: p.metadata?.name ?? '',
              namespace: p.metadata?.namespace ?? '',
              gracePeriodSeconds,
            })
            .catch(() => undefined),
        ),
      ),
    );
  try {
    await remove(2);
    const deadline = Date.now() + timeoutMs;
    while ((await list()).length > 0 && Date.now() < deadline) await sleep(500);
    const left = await list();
    if (left.length > 0) {
      ctx.log(`${node.cluster}: ${left.length} pod(s) not stopped by the kubelet in time; deleting them with grace 0`);
      await remove(0);
    }
  } catch (e) {
    ctx.log(`${node.cluster}: could not delete the node's pods (${describeError(e)}); stopping it anyway`);
  }
}

/** Waits until the kubelet has unmounted the volumes of deleted pods (bounded). */
export async function waitVolumesGone(node: NodeInstance, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (mountsUnder(`${node.paths.kubeletRoot}/pods`).length > 0 && Date.now() < deadline) await sleep(500);
}

/**
 * containerd-shim processes of this node's containerd (their command line names its socket), which
 * can outlive containerd when a container was still running. Found by that exact socket path, so
 * no other node's or host's shim is touched.
 */
export function shimPids(node: NodeInstance): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const address = args[args.indexOf('-address') + 1];
      if (args[0]?.includes('containerd-shim') && address === node.paths.containerdSocket) pids.push(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return pids;
}

/** Kills the node's leftover shims (and with them their containers) and waits until they are gone. */
export async function killShims(node: NodeInstance): Promise<void> {
  const pids = shimPids(node);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
}

/** Removes the node's bridge interface, if it exists. */
export async function removeBridge(node: NodeInstance): Promise<void> {
  await run('ip', ['link', 'delete', node.bridge]).catch(() => undefined);
}

/** The kubelet links every container's log into /var/log/containers whatever its flags say; drops the node's links. */
export function removeLogLinks(node: NodeInstance, dir = '/var/log/containers'): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    try {
      if (readlinkSync(join(dir, name)).startsWith(`${node.paths.dir}/`)) rmSync(join(dir, name));
    } catch {
      // Not a link, or gone already.
    }
  }
}
