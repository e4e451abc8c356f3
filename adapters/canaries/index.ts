/** Canary checks: the new credential is tried where it will be used before any other wave sees it. */
import type { Canary } from '../../core/playbook/schema';
import type { KubeClients } from '../kubernetes/clients';
import { runAwsSts, runCommand, runHttp, runMariadbLogin, runPostgresLogin } from './checks';
import { runKubernetesJob } from './kubernetes-job';
import type { CanaryOutcome } from './outcome';

export type { CanaryOutcome } from './outcome';
export { scrubbedEnv } from './checks';

/** Runs one canary check with the credential; the outcome's detail never contains it. */
export function runCanaryCheck(
  c: Canary,
  credential: string,
  signal: AbortSignal,
  deps: {
    kube?: KubeClients;
    /** Variables command hooks get besides PATH, HOME, LANG and TZ (the policy's `canaryEnv`). */
    commandEnv?: readonly string[];
  } = {},
): Promise<CanaryOutcome> {
  switch (c.type) {
    case 'command':
      return runCommand(c, credential, signal, deps.commandEnv);
    case 'http':
      return runHttp(c, credential, signal);
    case 'postgres-login':
      return runPostgresLogin(c, credential, signal);
    case 'mariadb-login':
      return runMariadbLogin(c, credential, signal);
    case 'aws-sts':
      return runAwsSts(c, credential, signal);
    case 'kubernetes-job':
      return deps.kube
        ? runKubernetesJob(c, credential, signal, deps.kube)
        : Promise.resolve({ ok: false, detail: 'no Kubernetes clients were given for a kubernetes-job canary' });
  }
}
