import { join } from 'node:path';
import { clusterNames, ports } from '../config';
import type { ClusterName } from '../config';
import { kubePaths } from '../kube/paths';

/**
 * One node of a local cluster: a containerd of its own (kubelets that share a containerd treat each
 * other's sandboxes as orphans and delete them), a kubelet and a CNI bridge network. The stack runs
 * one per cluster, all named `localhost` (each cluster's Node object carries its kubelet port, so
 * `kubectl logs/exec` resolve to the right kubelet); tests may run an extra, tainted one.
 */
export interface NodeInstance {
  cluster: ClusterName;
  /** Node name, also the kubelet's hostname override. */
  name: string;
  /** Process-id prefix for the pid/log files: `node-<cluster>` → `node-<cluster>-kubelet`, … */
  id: string;
  kubeletPort: number;
  healthzPort: number;
  /** Pod subnet of the node's bridge, e.g. 10.200.0.0/24. */
  subnet: string;
  /** Linux bridge name (≤ 15 characters). */
  bridge: string;
  /** Taints the kubelet registers the node with (tests keep ordinary pods off their extra nodes). */
  taints: { key: string; value?: string; effect: 'NoSchedule' | 'NoExecute' }[];
  paths: NodePaths;
}

/** Everything of one node lives under `<stateDir>/node/<id>/`. */
export interface NodePaths {
  dir: string;
  containerdConfig: string;
  containerdRoot: string;
  containerdState: string;
  /** containerd's gRPC socket (the CRI endpoint of the kubelet; `ctr -a`). */
  containerdSocket: string;
  runcRoot: string;
  cniConfDir: string;
  cniIpamDir: string;
  kubeletRoot: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  kubeletCert: string;
  kubeletKey: string;
  podLogs: string;
}

export function nodePaths(stateDir: string, id: string): NodePaths {
  const dir = join(stateDir, 'node', id);
  return {
    dir,
    containerdConfig: join(dir, 'containerd.toml'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    containerdSocket: join(dir, 'containerd', 'containerd.sock'),
    runcRoot: join(dir, 'containerd', 'runc'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    cniIpamDir: join(dir, 'cni', 'ipam'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet-config.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    kubeletCert: join(dir, 'kubelet-client.crt'),
    kubeletKey: join(dir, 'kubelet-client.key'),
    podLogs: join(dir, 'pods'),
  };
}

/** The node the stack runs for `cluster`: `localhost`, kubelet on its own port, its own /24. */
export function stackNode(stateDir: string, cluster: ClusterName): NodeInstance {
  const index = clusterNames.indexOf(cluster);
  const id = `node-${cluster}`;
  return {
    cluster,
    name: 'localhost',
    id,
    kubeletPort: ports.kubelet[cluster],
    healthzPort: ports.kubeletHealthz[cluster],
    subnet: `10.200.${index}.0/24`,
    bridge: `rotor-${cluster.slice(-1)}`,
    taints: [],
    paths: nodePaths(stateDir, id),
  };
}

/** Scheduler files of a cluster: its client certificate and kubeconfig. */
export function schedulerPaths(
  stateDir: string,
  cluster: ClusterName,
): { cert: string; key: string; kubeconfig: string } {
  const dir = join(kubePaths(stateDir).dir, cluster);
  return {
    cert: join(dir, 'scheduler.crt'),
    key: join(dir, 'scheduler.key'),
    kubeconfig: join(dir, 'scheduler.kubeconfig'),
  };
}
