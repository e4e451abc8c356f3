import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ports } from '../config';
import type { ClusterName } from '../config';
import { clusterPaths, kubePaths } from './paths';
import { readAdminToken } from './pki';

/** The API server URL of a local cluster. */
export function serverUrl(cluster: ClusterName): string {
  return `https://127.0.0.1:${ports.kube[cluster]}`;
}

/** Name of the kubeconfig user holding a cluster's admin token. */
export function adminUserName(cluster: ClusterName): string {
  return `${cluster}-admin`;
}

function kubeconfig(stateDir: string, clusters: readonly ClusterName[], current: ClusterName): string {
  const caData = readFileSync(kubePaths(stateDir).caCert).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters.map((name) => ({
      name,
      cluster: { server: serverUrl(name), 'certificate-authority-data': caData },
    })),
    users: clusters.map((name) => ({ name: adminUserName(name), user: { token: readAdminToken(stateDir, name) } })),
    contexts: clusters.map((name) => ({
      name,
      context: { cluster: name, user: adminUserName(name), namespace: 'default' },
    })),
    'current-context': current,
    preferences: {},
  });
}

/** Replaces a file atomically, so a controller reading it never sees half a kubeconfig. */
function writeAtomic(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/**
 * Writes `<stateDir>/kube/kubeconfig` (contexts named after the clusters, current: the first) and
 * one single-context `<stateDir>/kube/<cluster>.kubeconfig` per cluster, from the CA and admin
 * tokens `ensurePki` made. Each context's user is `<cluster>-admin` (group system:masters).
 */
export function writeKubeconfigs(stateDir: string, clusters: readonly [ClusterName, ...ClusterName[]]): void {
  writeAtomic(kubePaths(stateDir).kubeconfig, kubeconfig(stateDir, clusters, clusters[0]));
  for (const c of clusters) writeAtomic(clusterPaths(stateDir, c).kubeconfig, kubeconfig(stateDir, [c], c));
}

/**
 * A single-context kubeconfig for a node component of `cluster` that authenticates with a client
 * certificate (`ensureClientCert`) instead of the admin token.
 */
export function writeClientKubeconfig(
  stateDir: string,
  cluster: ClusterName,
  file: string,
  user: string,
  creds: { cert: string; key: string },
): void {
  const content = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: cluster, cluster: { server: serverUrl(cluster), 'certificate-authority': kubePaths(stateDir).caCert } },
    ],
    users: [{ name: user, user: { 'client-certificate': creds.cert, 'client-key': creds.key } }],
    contexts: [{ name: cluster, context: { cluster, user } }],
    'current-context': cluster,
  });
  writeAtomic(file, content);
}
