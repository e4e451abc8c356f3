import { join } from 'node:path';
import type { ClusterName } from '../config';

/** Files of the local Kubernetes clusters under `<stateDir>/kube/`, shared by the CA and etcd. */
export interface KubePaths {
  dir: string;
  caCert: string;
  caKey: string;
  etcdData: string;
  /** Three-context kubeconfig; equals `stackEnv().KUBECONFIG`. */
  kubeconfig: string;
}

/** Files of one cluster: `<stateDir>/kube/<cluster>/…` plus its single-context kubeconfig. */
export interface ClusterPaths {
  dir: string;
  servingCert: string;
  servingKey: string;
  saPublicKey: string;
  saSigningKey: string;
  /** `--token-auth-file`: one line, the admin token in group system:masters. */
  tokenFile: string;
  /** The bare admin token, for health checks and kubeconfigs. */
  adminToken: string;
  /** `<stateDir>/kube/<cluster>.kubeconfig` with the single context `<cluster>`. */
  kubeconfig: string;
}

export function kubePaths(stateDir: string): KubePaths {
  const dir = join(stateDir, 'kube');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    etcdData: join(dir, 'etcd'),
    kubeconfig: join(dir, 'kubeconfig'),
  };
}

export function clusterPaths(stateDir: string, cluster: ClusterName): ClusterPaths {
  const base = kubePaths(stateDir).dir;
  const dir = join(base, cluster);
  return {
    dir,
    servingCert: join(dir, 'serving.crt'),
    servingKey: join(dir, 'serving.key'),
    saPublicKey: join(dir, 'sa.pub'),
    saSigningKey: join(dir, 'sa.key'),
    tokenFile: join(dir, 'tokens.csv'),
    adminToken: join(dir, 'admin.token'),
    kubeconfig: join(base, `${cluster}.kubeconfig`),
  };
}
