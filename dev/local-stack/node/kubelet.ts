import { mkdirSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { kubePaths } from '../kube/paths';
import { ensureClientCert } from '../kube/pki';
import { writeClientKubeconfig } from '../kube/kubeconfig';
import type { NodeInstance } from './instance';

/**
 * The kubelet's configuration. Kubernetes defaults except where this host or the stack needs
 * otherwise; in particular `syncFrequency` stays at its default (1m), so mounted Secrets reach pods
 * as late as they do in real clusters.
 */
export function kubeletConfig(stateDir: string, node: NodeInstance): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: '127.0.0.1',
    port: node.kubeletPort,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: node.healthzPort,
    // Reachable on loopback only. The API servers run without a kubelet client certificate, so
    // `kubectl logs/exec` reach the kubelet anonymously.
    authentication: {
      anonymous: { enabled: true },
      webhook: { enabled: false },
      x509: { clientCAFile: kubePaths(stateDir).caCert },
    },
    authorization: { mode: 'AlwaysAllow' },
    containerRuntimeEndpoint: `unix://${node.paths.containerdSocket}`,
    // cgroup v1 is what such hosts mount; the kubelet creates no QoS or allocatable cgroups of its own.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    // Locally built images cannot be pulled again: never collect them, never evict for disk.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      'memory.available': '1Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
      'nodefs.inodesFree': '1%',
    },
    podLogsDir: node.paths.podLogs,
    registerWithTaints: node.taints,
    // Pods resolve names through the host's resolver; the stack runs no cluster DNS.
    resolvConf: '/etc/resolv.conf',
    maxPods: 50,
  };
}

/** Writes the kubelet's config, client certificate (user system:node:<name>) and kubeconfig. */
export async function writeKubeletFiles(stateDir: string, node: NodeInstance): Promise<void> {
  const p = node.paths;
  mkdirSync(p.kubeletRoot, { recursive: true });
  mkdirSync(p.podLogs, { recursive: true });
  writeFileSync(p.kubeletConfig, stringify(kubeletConfig(stateDir, node)));
  const creds = { cert: p.kubeletCert, key: p.kubeletKey };
  await ensureClientCert(stateDir, creds, `system:node:${node.name}`, 'system:nodes');
  writeClientKubeconfig(stateDir, node.cluster, p.kubeletKubeconfig, `system:node:${node.name}`, creds);
}

export function kubeletArgs(node: NodeInstance): string[] {
  const p = node.paths;
  return [
    `--config=${p.kubeletConfig}`,
    `--kubeconfig=${p.kubeletKubeconfig}`,
    `--root-dir=${p.kubeletRoot}`,
    `--cert-dir=${p.kubeletRoot}/pki`,
    `--hostname-override=${node.name}`,

    '--v=1',
  ];
}
