import { ports } from '../config';
import { helmBinary } from '../helm';
import { portOpen, runningPid, startTsxProcess, waitHealthy, logFileOf } from '../process';
import type { StackService } from '../service';
import {
  ensureGatewayPki,
  gatewayHost,
  inCluster,
  installInClusterWorkers,
  installedRelease,
  releaseHealth,
  uninstallInClusterWorkers,
  workersFiles,
} from '../workers/install';

/** Why the pod gateway is not forwarding, or undefined. */
async function gatewayHealth(host: string): Promise<string | undefined> {
  const closed = [];
  for (const [name, port] of Object.entries(ports.workersGateway))
    if (!(await portOpen(port, host))) closed.push(`${name} (${host}:${port})`);
  return closed.length ? `pod gateway not forwarding ${closed.join(', ')}` : undefined;
}

/**
 * rotor's worker chart in cluster-a, as production runs it (optional: `dev/stack up workers`, or
 * ROTOR_STACK_WORKERS=1). The worker image built (cached) and imported into cluster-a's node, a pod
 * gateway (process `workers-gateway`) through which the pods reach Temporal, Vault and the
 * apiservers, and the chart installed as release `rotor` in `rotor-system` with two replicas on
 * task queue `rotor-in-cluster`, with real identities for the demo playbook
 * (dev/local-stack/workers/install.ts). Healthy: both replicas available. `npm run demo -- --in-cluster`
 * rotates with them. `down` uninstalls the release and stops the gateway.
 */
export const workers: StackService = {
  name: 'workers',
  version: 'chart',
  dependsOn: ['temporal', 'vault', 'kube', 'node'],
  address: `release ${inCluster.namespace}/${inCluster.release} in cluster-a, task queue ${inCluster.taskQueue}`,
  optional: { enabledBy: 'ROTOR_STACK_WORKERS' },
  async install(ctx) {
    await helmBinary(ctx);
  },
  async start(ctx) {
    const { caPem } = await ensureGatewayPki(ctx.paths);
    const host = gatewayHost(ctx.paths);
    if (runningPid(ctx, 'workers-gateway') === undefined) {
      startTsxProcess(ctx, 'workers-gateway', 'dev/local-stack/workers/gateway-main.ts', [
        '--dir',
        workersFiles(ctx.paths).gatewayDir,
      ]);
    }
    await waitHealthy('workers-gateway', () => gatewayHealth(host), logFileOf(ctx, 'workers-gateway'), 30_000);
    await installInClusterWorkers(ctx, caPem);
  },
  async health(ctx) {
    if (!installedRelease(ctx.paths)) return `not installed ('dev/stack up workers')`;
    return (await gatewayHealth(gatewayHost(ctx.paths))) ?? (await releaseHealth(ctx.paths));
  },
  async stop(ctx) {
    // Before the gateway process stops (the manager stops it next), while the apiserver still runs.
    if (!installedRelease(ctx.paths) || !(await portOpen(ports.kube['cluster-a']))) return;
    await uninstallInClusterWorkers(ctx, await helmBinary(ctx));
  },
};
