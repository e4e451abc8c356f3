/**
 * The worker and controller the kube-* integration suites run against: a test worker under the
 * suite's policy file, and rotor's controller with exactly the chart's ClusterRole and its own
 * client certificate, watching the suite's namespaces.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { createActivities } from '../../activities/index';
import { loadPolicyFile } from '../../adapters/policy-file';
import { depsFromEnv } from '../../workers/deps';
import { startController } from '../../workers/controller/controller';
import type { Controller, ControllerOptions } from '../../workers/controller/controller';
import { chartControllerUser } from './kube-users';
import { startTestWorker } from './worker';
import type { TestWorker } from './worker';

export interface KubeController {
  tw: TestWorker;
  controller: Controller;
  identity: Awaited<ReturnType<typeof chartControllerUser>>;
}

/**
 * Writes `policy` to `<scratch>/policy.yaml`, starts a test worker under it, then the controller
 * as user `controllerUser`. `scheduling` gives the controller the same policy for schedules;
 * `fingerprintKeys` lets it vouch for requests (identity: kubernetes).
 */
export async function startKubeController(o: {
  env: NodeJS.ProcessEnv;
  admin: KubeConfig;
  cluster: string;
  scratch: string;
  policy: Record<string, unknown>;
  controllerUser: string;
  namespaces: string[];
  scheduling?: boolean;
  fingerprintKeys?: ControllerOptions['fingerprintKeys'];
}): Promise<KubeController> {
  const policyFile = join(o.scratch, 'policy.yaml');
  writeFileSync(policyFile, stringify(o.policy));
  const tw = await startTestWorker(createActivities(depsFromEnv({ ...o.env, ROTOR_POLICY_FILE: policyFile })));
  const identity = await chartControllerUser(o.admin, o.cluster, o.controllerUser);
  const controller = startController({
    kubeconfig: identity.kubeconfig,
    client: tw.client,
    taskQueue: tw.taskQueue,
    namespaces: o.namespaces,
    resyncMs: 300,
    ...(o.fingerprintKeys ? { fingerprintKeys: o.fingerprintKeys } : {}),
    ...(o.scheduling ? { scheduling: { policy: loadPolicyFile(policyFile) } } : {}),
    onError: (what, e) => console.error(`controller: ${what}: ${(e as Error).message}`),
  });
  return { tw, controller, identity };
}
