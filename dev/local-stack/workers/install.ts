/**
 * The in-cluster workers of the stack's `workers` service: the worker chart installed into
 * cluster-a's namespace `rotor-system` with real identities, for the demo playbook
 * (playbooks/demo-three-clusters.yaml), as docs/production.md describes an installation:
 *
 * - Vault: the Kubernetes auth mount `stack-workers`, its role bound to the release's
 *   ServiceAccount, with a policy covering the demo playbook's store entry only;
 * - Kubernetes: in cluster-a the RBAC `rotor rbac` computes, rendered by the chart; in cluster-b/c
 *   what `rotor rbac` prints for them, with a token of that ServiceAccount's namesake there in the
 *   chart's kubeconfig Secret;
 * - the stack's codec and fingerprint keys in Secret `rotor-keys`; Temporal and Vault over TLS
 *   through the service's pod gateway (its CA in Secret/ConfigMap `stack-gateway-ca`).
 *
 * Every step creates or replaces, so a second `dev/stack up workers` changes nothing.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { loadPlaybook } from '../../../adapters/playbook-loader';
import { connectClient } from '../../../adapters/temporal/connection';
import type { Playbook } from '../../../core/playbook/schema';
import { setCurrentVersion } from '../../../adapters/temporal/worker-deployment';
import { ports } from '../config';
import type { StackPaths } from '../config';
import { kubeconfigFor, statusOf } from '../kube-clients';
import { stackNode } from '../node/instance';
import { gatewayAddress, gatewayPki } from '../node/pod-gateway';
import type { StackContext } from '../service';
import { useStackEnv } from '../stack-env';
import {
  accessThrough,
  createKeysSecret,
  imageValues,
  installWorkerChart,
  podKubeconfig,
  stackReleaseValues,
  workerImageOnNode,
  writeGatewayCa,
} from './chart-release';
import { generatedIdentityTokens } from './rbac-identity';
import { kvRotationRules, vaultKubernetesRole } from './vault-kubernetes-auth';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** What the service installs: names a test or the demo refers to. */
export const inCluster = {
  release: 'rotor',
  namespace: 'rotor-system',
  serviceAccount: 'rotor',
  /** The workers' own task queue: no host worker polls it. */
  taskQueue: 'rotor-in-cluster',
  /** Their Worker Deployment (Worker Versioning); the build id is the image's. */
  deploymentName: 'rotor-in-cluster',
  replicas: 2,
  vaultMount: 'stack-workers',
  playbook: 'playbooks/demo-three-clusters.yaml',
} as const;

/** What the last install recorded: the build it runs (the Deployment is named after it). */
interface InstalledRelease {
  buildId: string;
  image: string;
  deployment: string;
}

/** The service's state: the gateway's PKI and the installed release. */
export function workersFiles(paths: StackPaths): { gatewayDir: string; release: string } {
  const dir = join(paths.stateDir, 'workers');
  return { gatewayDir: join(dir, 'gateway'), release: join(dir, 'release.json') };
}

export function installedRelease(paths: StackPaths): InstalledRelease | undefined {
  const file = workersFiles(paths).release;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as InstalledRelease) : undefined;
}

/** cluster-a's node gateway address, where the service's gateway listens. */
export function gatewayHost(paths: StackPaths): string {
  return gatewayAddress(stackNode(paths.stateDir, 'cluster-a'));
}

/**
 * The gateway's CA and serving certificate under the service's state, made once: the CA in the
 * cluster stays valid across restarts of the gateway.
 */
export async function ensureGatewayPki(paths: StackPaths): Promise<{ caPem: string }> {
  const dir = workersFiles(paths).gatewayDir;
  const files = ['gateway-ca.crt', 'gateway.crt', 'gateway.key'].map((f) => join(dir, f));
  if (!files.every((f) => existsSync(f))) await gatewayPki(dir, gatewayHost(paths));
  return { caPem: readFileSync(join(dir, 'gateway-ca.crt'), 'utf8') };
}

/** Vault policy rules for the playbook's store entry alone. */
function storeRules(playbook: Playbook): string {
  const store = playbook.spec.secret.store;
  if (store.type !== 'vault') throw new Error(`${inCluster.playbook}: the in-cluster workers expect a Vault store`);
  return kvRotationRules(store.mount, store.path);
}

/** Creates the namespace unless it exists. */
async function ensureNamespace(core: CoreV1Api, name: string): Promise<void> {
  if ((await statusOf(core.readNamespace({ name }))) !== 404) return;
  const created = await statusOf(core.createNamespace({ body: { metadata: { name } } }));
  if (created !== 200 && created !== 409) throw new Error(`creating namespace ${name} failed: HTTP ${created}`);
}

/**
 * The ServiceAccount `rotor` of `rotor-system` is made here, not by the chart: the identity tests
 * (test/helpers/rbac-identity.ts) share it, so it is created when missing and never deleted.
 */
async function ensureServiceAccount(core: CoreV1Api): Promise<void> {
  const sa = { name: inCluster.serviceAccount, namespace: inCluster.namespace };
  if ((await statusOf(core.readNamespacedServiceAccount(sa))) !== 404) return;
  const created = await statusOf(
    core.createNamespacedServiceAccount({ namespace: sa.namespace, body: { metadata: { name: sa.name } } }),
  );
  if (created !== 200 && created !== 409) throw new Error(`creating ServiceAccount ${sa.name} failed: HTTP ${created}`);
}

/** Waits until the Deployment has all its replicas available; a worker container that exits fails it with its log. */
async function waitAvailable(ctx: StackContext, deployment: string, timeoutMs = 300_000): Promise<void> {
  const kc = kubeconfigFor('cluster-a');
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = inCluster.namespace;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await apps.readNamespacedDeployment({ namespace, name: deployment });
    const available = d.status?.availableReplicas ?? 0;
    if (available >= inCluster.replicas) return;
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: `app.kubernetes.io/instance=${inCluster.release}`,
    });
    for (const p of pods.items) {
      const ended =
        p.status?.containerStatuses?.[0]?.lastState?.terminated ?? p.status?.containerStatuses?.[0]?.state?.terminated;
      if (!ended) continue;
      const name = p.metadata?.name ?? '';
      const log = await core
        .readNamespacedPodLog({ namespace, name, previous: true, tailLines: 40 })
        .catch(() => '(no log)');
      throw new Error(`worker pod ${name} exited (${ended.exitCode}); its log:\n${log}`);
    }
    if (Date.now() > deadline)
      throw new Error(
        `Deployment ${namespace}/${deployment}: ${available} of ${inCluster.replicas} replicas available`,
      );
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * Builds (cached) and imports the worker image, prepares `rotor-system` and the identities, and
 * `helm upgrade --install`s the chart; then waits for both replicas and makes their build the
 * Worker Deployment's current version, as a rollout would. The pod gateway must already run.
 */
export async function installInClusterWorkers(ctx: StackContext, gatewayCa: string): Promise<void> {
  const env = useStackEnv();
  const image = await workerImageOnNode(undefined, ctx.log);
  const playbook = await loadPlaybook(join(repoRoot, inCluster.playbook));
  const kcA = kubeconfigFor('cluster-a');
  const coreA = kcA.makeApiClient(CoreV1Api);
  const namespace = inCluster.namespace;
  await ensureNamespace(coreA, namespace);
  // The chart renders Roles in the playbook's namespaces, and `rotor rbac` binds in them.
  for (const c of playbook.spec.clusters)
    await ensureNamespace(kubeconfigFor(c.context ?? c.name).makeApiClient(CoreV1Api), c.namespace);
  await ensureServiceAccount(coreA);
  await writeGatewayCa(kcA, namespace, gatewayCa);
  await createKeysSecret(kcA, namespace);

  ctx.log(`workers: Vault Kubernetes auth '${inCluster.vaultMount}' and the RBAC 'rotor rbac' computes`);
  const vaultRole = await vaultKubernetesRole(kcA, {
    mount: inCluster.vaultMount,
    namespace,
    serviceAccount: inCluster.serviceAccount,
    rules: storeRules(playbook),
    reviewerToken: 'lasting',
  });
  const subject = { serviceAccount: inCluster.serviceAccount, namespace };
  const remote = await generatedIdentityTokens([playbook], subject, (c) => c !== 'cluster-a', 'lasting');

  const host = gatewayHost(ctx.paths);
  const access = accessThrough({
    host,
    address: (name) => {
      const port = ports.workersGateway[name as keyof typeof ports.workersGateway];
      if (port === undefined) throw new Error(`the workers' gateway forwards no '${name}'`);
      return `${host}:${port}`;
    },
  });
  const kubeconfigSecret = {
    metadata: { name: 'rotor-kubeconfig' },
    stringData: {
      kubeconfig: podKubeconfig(access),
      ...Object.fromEntries([...remote].map(([c, token]) => [`${c}.token`, token])),
    },
  };
  if ((await statusOf(coreA.createNamespacedSecret({ namespace, body: kubeconfigSecret }))) === 409)
    await coreA.replaceNamespacedSecret({ namespace, name: 'rotor-kubeconfig', body: kubeconfigSecret });

  ctx.log(`workers: helm upgrade --install ${inCluster.release} (${image.ref}, build ${image.buildId})`);
  const release = await installWorkerChart(
    kcA,
    {
      name: inCluster.release,
      namespace,
      kubeconfigFile: env['KUBECONFIG'] ?? '',
      context: 'cluster-a',
      values: {
        ...stackReleaseValues({ access, vaultRole, playbooks: [playbook], subject }),
        replicaCount: inCluster.replicas,
        image: imageValues(image),
        taskQueue: inCluster.taskQueue,
        versioning: { enabled: true, deploymentName: inCluster.deploymentName, buildId: image.buildId },
        kubeconfig: { secretName: 'rotor-kubeconfig' },
        // Made by ensureServiceAccount (shared with the identity tests), never deleted.
        serviceAccount: { create: false, name: inCluster.serviceAccount },
        shutdown: { graceSeconds: 5, forceSeconds: 10 },
      },
    },
    ctx.log,
  );
  const deployment = `${release.deployment}-${image.buildId.toLowerCase().replace(/_/g, '-')}`;
  const installed: InstalledRelease = { buildId: image.buildId, image: image.ref, deployment };
  mkdirSync(join(ctx.paths.stateDir, 'workers'), { recursive: true });
  writeFileSync(workersFiles(ctx.paths).release, `${JSON.stringify(installed, null, 2)}\n`);
  ctx.log(`workers: waiting for ${inCluster.replicas} replicas of Deployment ${namespace}/${deployment}`);
  await waitAvailable(ctx, deployment);
  const client = await connectClient();
  try {
    await setCurrentVersion(client, { deploymentName: inCluster.deploymentName, buildId: image.buildId });
  } finally {
    await client.connection.close();
  }
}

/** Why the release is not healthy, or undefined: its Deployment has both replicas available. */
export async function releaseHealth(paths: StackPaths): Promise<string | undefined> {
  const installed = installedRelease(paths);
  if (!installed) return `not installed ('dev/stack up workers')`;
  const apps = kubeconfigFor('cluster-a').makeApiClient(AppsV1Api);
  const d = await apps.readNamespacedDeployment({ namespace: inCluster.namespace, name: installed.deployment });
  const available = d.status?.availableReplicas ?? 0;
  return available >= inCluster.replicas
    ? undefined
    : `Deployment ${inCluster.namespace}/${installed.deployment}: ${available} of ${inCluster.replicas} replicas available`;
}

/**
 * `helm uninstall` of the release (its pods stop); the namespace, identities and Vault mount stay
 * for the next `up`. Nothing to do when it was never installed.
 */
export async function uninstallInClusterWorkers(ctx: StackContext, helm: string): Promise<void> {
  if (!installedRelease(ctx.paths)) return;
  const env = useStackEnv();
  await run(helm, [
    'uninstall',
    inCluster.release,
    '--namespace',
    inCluster.namespace,
    '--kubeconfig',
    env['KUBECONFIG'] ?? '',
    '--kube-context',
    'cluster-a',
    '--ignore-not-found',
  ]);
  rmSync(workersFiles(ctx.paths).release, { force: true });
  ctx.log(`workers: uninstalled release ${inCluster.namespace}/${inCluster.release}`);
}
