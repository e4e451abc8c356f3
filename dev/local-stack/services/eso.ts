import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { clusterNames, ports } from '../config';
import type { ClusterName } from '../config';
import { clusterSecretStores, credentialObjects, loadCrds, storeNames } from '../eso/manifests';
import {
  applyCrds,
  applyNewKinds,
  applyObjects,
  clusterKubeconfig,
  clusterStoreNotReady,
  describeError,
  loadCluster,
} from '../eso/kube';
import { ensurePortFree, healthProbeTimeoutMs, logFileOf, runningPid, startProcess } from '../process';
import type { StackContext, StackService } from '../service';
import { goBinary } from '../toolchain';
import type { GoBuild } from '../toolchain';

const execFileAsync = promisify(execFile);

const esoModule = 'github.com/external-secrets/external-secrets';
const esoVersion = 'v0.20.4';

const moduleDir = fileURLToPath(new URL('../../go/external-secrets', import.meta.url));

const build: GoBuild = {
  name: 'external-secrets',
  version: esoVersion,
  moduleDir,
  // The root main package is the controller; webhook and cert-controller are subcommands we never run.
  pkg: esoModule,
  flags: ['-trimpath', '-ldflags=-s -w'],
  // Only the providers and generators the stack uses: half the packages of a full build.
  patch: {
    module: esoModule,
    version: esoVersion,
    files: {
      'pkg/provider/register/register.go': readFileSync(join(moduleDir, 'overlay', 'providers.go.in'), 'utf8'),
      'pkg/generator/register/register.go': readFileSync(join(moduleDir, 'overlay', 'generators.go.in'), 'utf8'),
    },
  },
};

/** Process id of the controller serving `cluster`; the `eso-` prefix lets the manager attribute it. */
export function esoProcessId(cluster: ClusterName): string {
  return `eso-${cluster}`;
}

/** Directory of the pinned ESO module in the module cache, downloading it when absent. */
async function esoModuleDir(): Promise<string> {
  const opts = { cwd: build.moduleDir, env: { ...process.env, GOFLAGS: '-mod=mod' } };
  const list = async () => (await execFileAsync('go', ['list', '-m', '-f', '{{.Dir}}', esoModule], opts)).stdout.trim();
  let dir = await list();
  if (!dir) {
    await execFileAsync('go', ['mod', 'download', esoModule], opts);
    dir = await list();
  }
  if (!dir) throw new Error(`eso: could not locate ${esoModule} in the Go module cache`);
  return dir;
}

/**
 * The controller binary and a copy of the module's CRD bundle beside it, so starting never
 * depends on the Go module cache still holding the module.
 */
async function installed(ctx: StackContext): Promise<{ bin: string; crdFile: string }> {
  const bin = await goBinary(ctx, build);
  const crdFile = join(dirname(bin), 'crds.yaml');
  if (!existsSync(crdFile)) {
    const tmp = `${crdFile}.tmp`;
    copyFileSync(join(await esoModuleDir(), 'deploy', 'crds', 'bundle.yaml'), tmp);
    renameSync(tmp, crdFile);
  }
  return { bin, crdFile };
}

/** Controller flags for one cluster: loopback metrics/health, no leader election, all namespaces. */
export function controllerArgs(cluster: ClusterName): string[] {
  return [
    `--metrics-addr=127.0.0.1:${ports.esoMetrics[cluster]}`,
    `--live-addr=127.0.0.1:${ports.esoHealth[cluster]}`,
    // One controller per cluster: nothing to elect, and no Lease churn on the apiserver.
    '--enable-leader-election=false',
    // An empty --namespace (the default) watches every namespace; stated so it is not "fixed" later.
    '--namespace=',
    '--enable-cluster-store-reconciler=true',
    '--enable-cluster-external-secret-reconciler=true',
    '--concurrent=2',
    // Revalidate stores every minute (default 5m) so status tracks Vault/moto restarts in dev.
    '--store-requeue-interval=1m',
    '--loglevel=info',
    '--zap-time-encoding=iso8601',
  ];
}

/** Environment of one controller: its cluster and every AWS endpoint ESO resolves, pointed at moto. */
export function controllerEnv(kubeconfig: string): Record<string, string> {
  const moto = `http://127.0.0.1:${ports.moto}`;
  return {
    KUBECONFIG: kubeconfig,
    // ESO v0.20 installs its own endpoint resolvers that read these (no endpoint field in the store spec).
    AWS_SECRETSMANAGER_ENDPOINT: moto,
    AWS_SSM_ENDPOINT: moto,
    AWS_STS_ENDPOINT: moto,
    // For SDK clients ESO does not give a custom resolver (e.g. ECR generators).
    AWS_ENDPOINT_URL: moto,
    // The Vault SDK would pick an inherited token up; stores must authenticate with their own Secret.
    VAULT_TOKEN: '',
  };
}

function startController(ctx: StackContext, cluster: ClusterName, bin: string): void {
  const id = esoProcessId(cluster);
  const env = controllerEnv(clusterKubeconfig(ctx.paths, cluster));
  const proc = startProcess(ctx, id, bin, controllerArgs(cluster), { env });
  ctx.log(`eso: ${id} running (pid ${proc.pid}), log ${proc.logFile}`);
}

async function controllerHealth(ctx: StackContext, cluster: ClusterName): Promise<string | undefined> {
  const id = esoProcessId(cluster);
  if (runningPid(ctx, id) === undefined)
    return `${cluster}: controller ${id} is not running (log: ${logFileOf(ctx, id)})`;
  const url = `http://127.0.0.1:${ports.esoHealth[cluster]}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(healthProbeTimeoutMs) });
    await res.text();
    return res.ok ? undefined : `${cluster}: controller health ${url} answered HTTP ${res.status}`;
  } catch (e) {
    return `${cluster}: controller health ${url}: ${describeError(e)}`;
  }
}

async function storesHealth(ctx: StackContext, cluster: ClusterName): Promise<string | undefined> {
  let kc: KubeConfig;
  try {
    kc = loadCluster(ctx.paths, cluster);
  } catch (e) {
    return describeError(e);
  }
  for (const store of Object.values(storeNames)) {
    let reason: string | undefined;
    try {
      reason = await clusterStoreNotReady(kc, store);
    } catch (e) {
      reason = describeError(e);
    }
    // The store's condition message is generic ("unable to validate store"); the cause is in the log.
    if (reason !== undefined)
      return `${cluster}: ClusterSecretStore ${store}: ${reason} (log: ${logFileOf(ctx, esoProcessId(cluster))})`;
  }
  return undefined;
}

/**
 * External Secrets Operator: one controller process per local cluster (no webhook, no
 * cert-controller), with ClusterSecretStores `vault` (local Vault KV v2) and `aws` (moto Secrets
 * Manager). Healthy when every controller answers /healthz and both stores are Ready everywhere.
 */
export const eso: StackService = {
  name: 'eso',
  version: esoVersion,
  dependsOn: ['kube', 'vault', 'moto'],
  address: `health 127.0.0.1:${ports.esoHealth['cluster-a']}-${ports.esoHealth['cluster-c']}`,

  async install(ctx) {
    await installed(ctx);
  },

  async start(ctx) {
    const { bin, crdFile } = await installed(ctx);
    const crds = loadCrds(crdFile);
    await Promise.all(
      clusterNames.map(async (cluster) => {
        const kc = loadCluster(ctx.paths, cluster);
        ctx.log(`eso: ${cluster}: applying ${crds.length} CRDs and the stores`);
        await applyCrds(kc, crds);
        await applyObjects(kc, credentialObjects());
        await applyNewKinds(kc, clusterSecretStores(new Date().toISOString()));
        if (runningPid(ctx, esoProcessId(cluster)) === undefined) {
          await ensurePortFree(ports.esoMetrics[cluster], `eso (${cluster} metrics)`);
          await ensurePortFree(ports.esoHealth[cluster], `eso (${cluster} health)`);
        }
        startController(ctx, cluster, bin);
      }),
    );
  },

  async health(ctx) {
    const reasons = await Promise.all(
      clusterNames.map(async (cluster) => (await controllerHealth(ctx, cluster)) ?? (await storesHealth(ctx, cluster))),
    );
    const failing = reasons.filter((r): r is string => r !== undefined);
    return failing.length ? failing.join('; ') : undefined;
  },
};
