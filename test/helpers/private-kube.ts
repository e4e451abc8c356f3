/**
 * A private Kubernetes control plane for fault injection: its own etcd and one kube-apiserver
 * (own ports, certificates and data under a temporary directory), from the stack's cached
 * binaries. Tests compact, kill and restart these, never the shared stack's etcd or apiservers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stackPaths } from '../../dev/local-stack/config';
import { notOk, probe } from '../../dev/local-stack/kube/probe';
import { kubePaths } from '../../dev/local-stack/kube/paths';
import { ensurePki, readAdminToken } from '../../dev/local-stack/kube/pki';
import { apiserverArgs, etcdArgs, kubeBinaries } from '../../dev/local-stack/services/kube';
import { freePort, privateProcess } from './private-service';
import type { PrivateService } from './private-service';

/** A private etcd + kube-apiserver pair and an admin kubeconfig for it. */
export interface PrivateKube {
  etcd: PrivateService;
  apiserver: PrivateService;
  /** Admin (system:masters) kubeconfig, context `private`. */
  kubeconfig: KubeConfig;
  /** etcd's current revision (= the newest resourceVersion the apiserver can have handed out). */
  revision(): Promise<number>;
  /** Compacts etcd's history up to `revision` (as `etcdctl compact --physical`). */
  compact(revision: number): Promise<void>;
  /** Kills both processes. */
  stop(): Promise<void>;
}

// The cluster name only picks file names and the etcd key prefix inside the private directory.
const cluster = 'cluster-a';

/**
 * Starts etcd and a kube-apiserver in `dir`. `apiserverFlags` are appended, e.g.
 * `--watch-cache=false` so watches go to etcd itself and an expired resourceVersion is answered
 * with 410 as soon as etcd has compacted past it.
 */
export async function privateKube(dir: string, apiserverFlags: string[] = []): Promise<PrivateKube> {
  const ctx = { paths: stackPaths(), log: () => undefined };
  const bin = await kubeBinaries(ctx);
  await ensurePki(dir, [cluster]);
  const [clientPort, peerPort, port] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${clientPort}`;
  const server = `https://127.0.0.1:${port}`;
  const ca = readFileSync(kubePaths(dir).caCert);
  const token = readAdminToken(dir, cluster);

  const etcd = privateProcess({
    address: etcdUrl,
    command: bin.etcd,
    args: etcdArgs({ name: 'private', dataDir: join(dir, 'etcd'), clientPort, peerPort }),
    logFile: join(dir, 'etcd.log'),
    ready: async () => notOk(await probe(`${etcdUrl}/health`)) === undefined,
  });
  const apiserver = privateProcess({
    address: server,
    command: bin.apiserver,
    args: [
      ...apiserverArgs({ stateDir: dir, cluster, port, etcdUrl, serviceClusterIpRange: '10.120.0.0/16' }),
      ...apiserverFlags,
    ],
    logFile: join(dir, 'kube-apiserver.log'),
    ready: async () => notOk(await probe(`${server}/readyz`, { ca, token })) === undefined,
    startTimeoutMs: 240_000,
  });

  // etcd's JSON gateway (grpc-gateway over the client URL): int64 fields travel as strings.
  const gateway = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${etcdUrl}/v3/${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [{ name: 'private', server, caData: ca.toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'admin', token }],
    contexts: [{ name: 'private', cluster: 'private', user: 'admin' }],
    currentContext: 'private',
  });

  const stop = async () => {
    await apiserver.kill();
    await etcd.kill();
  };
  try {
    await etcd.start();
    await apiserver.start();
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    etcd,
    apiserver,
    kubeconfig,
    async revision() {
      // A range over an empty key returns only the header, which carries the store's revision.
      const json = await gateway('kv/range', { key: Buffer.from('\0').toString('base64') });
      return Number((json['header'] as { revision?: string } | undefined)?.revision);
    },
    async compact(revision) {
      await gateway('kv/compaction', { revision: String(revision), physical: true });
    },
    stop,
  };
}
