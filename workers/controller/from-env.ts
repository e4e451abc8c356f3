import { connectClient, temporalSettings } from '../../adapters/temporal/connection';
import { loadKubeconfig } from '../../adapters/kubernetes/clients';
import { policyFromEnv } from '../../adapters/policy-file';
import { loadKeyring } from '../../adapters/keys';
import { policyDefaultsFromEnv } from '../deps';
import { hostname } from 'node:os';
import { startController } from './controller';
import type { Controller } from './controller';
import { leaderOnly } from './leader';

/**
 * With ROTOR_CONTROLLER_CONTEXT set (a context of the worker's kubeconfig: the management cluster),
 * starts rotor's controller in this worker process beside the worker, on its task queue, keeping
 * RotationPlaybooks' schedules under the worker's policy (ROTOR_POLICY_FILE); resync
 * every ROTOR_CONTROLLER_RESYNC_S seconds (default 10). With ROTOR_CONTROLLER_LEASE
 * (`<namespace>/<name>` of a Lease in that cluster) the replicas elect one to run it, so every
 * replica may have it on; without, run it in one replica only. Returns how to stop it, or
 * undefined when it is off.
 */
export async function controllerFromEnv(
  log: (message: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Controller | undefined> {
  const context = env['ROTOR_CONTROLLER_CONTEXT'];
  if (!context) return undefined;
  const kubeconfig = loadKubeconfig();
  if (!kubeconfig.getContextObject(context))
    throw new Error(`ROTOR_CONTROLLER_CONTEXT: no context ${context} in the worker's kubeconfig`);
  kubeconfig.setCurrentContext(context);
  const resync = Number(env['ROTOR_CONTROLLER_RESYNC_S'] ?? 10);
  if (!Number.isFinite(resync) || resync <= 0)
    throw new Error(
      `ROTOR_CONTROLLER_RESYNC_S: must be a positive number of seconds, not ${env['ROTOR_CONTROLLER_RESYNC_S']}`,
    );
  // The worker's own policy: a RotationPlaybook gets a schedule only when it would be admitted.
  const scheduling = { policy: policyFromEnv(env), defaults: policyDefaultsFromEnv(env) };
  const lease = leaseFromEnv(env);
  const report = (what: string, e: unknown) =>
    log(`controller: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  const client = await connectClient();
  const start = () =>
    startController({
      kubeconfig,
      client,
      taskQueue: temporalSettings(env).taskQueue,
      resyncMs: resync * 1000,
      scheduling,
      // The worker's own keys: what it vouches for, the workers (not the CLIs) can check.
      fingerprintKeys: loadKeyring('ROTOR_FINGERPRINT_KEY', env),
      onError: report,
    });
  const controller = lease
    ? leaderOnly(
        {
          kubeconfig,
          ...lease,
          identity: env['ROTOR_WORKER_IDENTITY'] || `${hostname()}-${process.pid}`,
          onError: report,
          onChange: (leading) =>
            log(
              leading
                ? `controller: this replica leads (Lease ${lease.namespace}/${lease.name})`
                : 'controller: another replica leads; this one waits',
            ),
        },
        start,
      )
    : start();
  log(`controller watching RotationPlaybooks, RotationRequests and RotationApprovals in context ${context}`);
  return {
    settled: () => controller.settled(),
    async stop() {
      await controller.stop();
      await client.connection.close();
    },
  };
}

/** ROTOR_CONTROLLER_LEASE as namespace and name, or undefined when unset; malformed names the variable. */
export function leaseFromEnv(env: NodeJS.ProcessEnv): { namespace: string; name: string } | undefined {
  const value = env['ROTOR_CONTROLLER_LEASE'];
  if (!value) return undefined;
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(value);
  if (!m?.[1] || !m[3])
    throw new Error(
      `ROTOR_CONTROLLER_LEASE: '${value}' is not <namespace>/<name> of a Lease, e.g. rotor/rotor-controller`,
    );
  return { namespace: m[1], name: m[3] };
}
