import { connectClient, temporalSettings } from '../../adapters/temporal/connection';
import { loadKubeconfig } from '../../adapters/kubernetes/clients';
import { policyFromEnv } from '../../adapters/policy-file';
import { loadKeyring } from '../../adapters/keys';
import { policyDefaultsFromEnv } from '../deps';
import { startController } from './controller';
import type { Controller } from './controller';

/**
 * With ROTOR_CONTROLLER_CONTEXT set (a context of the worker's kubeconfig: the management cluster),
 * starts rotor's controller in this worker process beside the worker, on its task queue, keeping
 * RotationPlaybooks' schedules under the worker's policy (ROTOR_POLICY_FILE); resync
 * every ROTOR_CONTROLLER_RESYNC_S seconds (default 10). Run it in one replica only: there is no
 * leader election yet. Returns how to stop it, or undefined when it is off.
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
  const client = await connectClient();
  const controller = startController({
    kubeconfig,
    client,
    taskQueue: temporalSettings(env).taskQueue,
    resyncMs: resync * 1000,
    scheduling,
    // The worker's own keys: what it vouches for, the workers (not the CLIs) can check.
    fingerprintKeys: loadKeyring('ROTOR_FINGERPRINT_KEY', env),
    onError: (what, e) => log(`controller: ${what}: ${e instanceof Error ? e.message : String(e)}`),
  });
  log(`controller watching RotationPlaybooks, RotationRequests and RotationApprovals in context ${context}`);
  return {
    settled: () => controller.settled(),
    async stop() {
      await controller.stop();
      await client.connection.close();
    },
  };
}
