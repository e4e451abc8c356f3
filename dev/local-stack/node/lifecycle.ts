import { CoreV1Api } from '@kubernetes/client-node';
import { existsSync, rmSync } from 'node:fs';
import { describeError, loadCluster, withTimeout } from '../eso/kube';
import { notOk, probe } from '../kube/probe';
import { ensurePortFree, logFileOf, runningPid, startProcess, stopProcess, waitHealthy } from '../process';
import type { StackContext } from '../service';
import { containerdHealth, ctr, writeContainerdFiles } from './containerd';
import { importImages } from './images';
import type { ImageArchive } from '../../image/oci-archive';
import type { NodeInstance } from './instance';
import { kubeletArgs, writeKubeletFiles } from './kubelet';
import { deleteNodePods, killShims, removeBridge, removeLogLinks, unmountUnder, waitVolumesGone } from './teardown';

export const containerdId = (node: NodeInstance) => `${node.id}-containerd`;
export const kubeletId = (node: NodeInstance) => `${node.id}-kubelet`;

/** Undefined when the kubelet answers /healthz, else why not. */
export async function kubeletHealth(node: NodeInstance): Promise<string | undefined> {
  const reason = notOk(await probe(`http://127.0.0.1:${node.healthzPort}/healthz`));
  return reason === undefined ? undefined : `${node.cluster}: kubelet /healthz on ${node.healthzPort}: ${reason}`;
}

/** The node's Ready condition as the API server has it: 'Ready', 'NotReady: <why>' or 'missing'. */
export async function nodeState(ctx: StackContext, node: NodeInstance): Promise<string> {
  try {
    const core = loadCluster(ctx.paths, node.cluster).makeApiClient(CoreV1Api);
    const n = await withTimeout(`${node.cluster} node ${node.name}`, 3_000, core.readNode({ name: node.name }));
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return 'Ready';
    return `NotReady: ${ready?.message ?? ready?.reason ?? 'no Ready condition yet'}`;
  } catch (e) {
    return /HTTP 404/.test(describeError(e)) ? 'missing' : `unknown: ${describeError(e)}`;
  }
}

/** Every reason the node is not serving pods (containerd, kubelet, Node object), or undefined. */
export async function nodeHealth(ctx: StackContext, node: NodeInstance): Promise<string | undefined> {
  const down = (await containerdHealth(node)) ?? (await kubeletHealth(node));
  if (down) return down;
  const state = await nodeState(ctx, node);
  return state === 'Ready' ? undefined : `${node.cluster}: Node ${node.name} is ${state}`;
}

/**
 * Starts the node's containerd (importing the local images) and its kubelet, each only when not
 * running, and waits until the Node is Ready. Idempotent.
 */
export async function startNode(
  ctx: StackContext,
  node: NodeInstance,
  kubelet: string,
  images: ImageArchive,
): Promise<void> {
  writeContainerdFiles(node);
  if (runningPid(ctx, containerdId(node)) === undefined) {
    // A socket left by a killed containerd would make the new one fail to listen.
    rmSync(node.paths.containerdSocket, { force: true });
    startProcess(ctx, containerdId(node), 'containerd', ['--config', node.paths.containerdConfig]);
  }
  await waitHealthy(`${node.cluster} containerd`, () => containerdHealth(node), logFileOf(ctx, containerdId(node)));
  await importImages(node, images);
  await writeKubeletFiles(ctx.paths.stateDir, node);
  if (runningPid(ctx, kubeletId(node)) === undefined) {
    await ensurePortFree(node.kubeletPort, `${node.cluster} kubelet`);
    await ensurePortFree(node.healthzPort, `${node.cluster} kubelet healthz`);
    startProcess(ctx, kubeletId(node), kubelet, kubeletArgs(node));
  }
  await waitHealthy(`${node.cluster} node`, () => nodeHealth(ctx, node), logFileOf(ctx, kubeletId(node)), 120_000);
}

/** Kills and deletes any container task still left in the node's containerd. */
async function killTasks(node: NodeInstance): Promise<void> {
  const ids = (await ctr(node, ['tasks', 'ls', '-q']).catch(() => '')).split('\n').filter(Boolean);
  for (const id of ids) {
    await ctr(node, ['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
    await ctr(node, ['tasks', 'delete', '-f', id]).catch(() => undefined);
  }
}

/**
 * Stops a node so that nothing of it stays running or mounted: its pods are deleted through the
 * API while the kubelet still runs (so it stops their containers and unmounts their volumes),
 * then the kubelet stops, leftover tasks and shims are killed, containerd stops, and whatever is
 * still mounted under the node's directory is unmounted. Callers stop the scheduler first.
 */
export async function stopNode(ctx: StackContext, node: NodeInstance): Promise<void> {
  if (runningPid(ctx, kubeletId(node)) !== undefined) {
    await deleteNodePods(ctx, node);
    await waitVolumesGone(node);
  }
  await stopProcess(ctx, kubeletId(node));
  if (runningPid(ctx, containerdId(node)) !== undefined) await killTasks(node);
  await stopProcess(ctx, containerdId(node));
  await killShims(node);
  if (existsSync(node.paths.dir)) await unmountUnder(node.paths.dir);
  await removeBridge(node);
  removeLogLinks(node);
}
