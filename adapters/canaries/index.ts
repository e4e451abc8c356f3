/** Canary checks: the new credential is tried where it will be used before any other wave sees it. */
import type { Canary } from '../../core/playbook/schema';
import type { KubeClients } from '../kubernetes/clients';
import type { CommandSandboxSettings } from '../../core/policy/schema';
import { runAwsSts, runHttp, runMariadbLogin, runPostgresLogin } from './checks';
import { runCommand } from './command';
import { runJwtVerify } from './jwt-verify';
import { runKubernetesJob } from './kubernetes-job';
import { runRedisAuth } from './redis-auth';
import { runTlsHandshake } from './tls-handshake';
import { runVaultPkiHandshake } from './vault-pki-handshake';
import type NodeVault from 'node-vault';
import type { CanaryOutcome } from './outcome';

export type { CanaryOutcome } from './outcome';
export { scrubbedEnv } from './command';
export { sandboxStatus } from './sandbox';
export type { SandboxStatus } from './sandbox';

/** Runs one canary check with the credential; the outcome's detail never contains it. */
export function runCanaryCheck(
  c: Canary,
  credential: string,
  signal: AbortSignal,
  deps: {
    kube?: KubeClients;
    /** The worker's Vault client (a `vault-pki-handshake` issues its test leaf through it). */
    vault?: NodeVault.client;
    /** Variables command hooks get besides PATH, HOME, LANG and TZ (the policy's `canaryEnv`). */
    commandEnv?: readonly string[];
    /** Where command hooks run (the policy's `commandSandbox`); the bubblewrap sandbox when not given. */
    commandSandbox?: CommandSandboxSettings;
    /** The bwrap program; tests name a missing one. */
    bwrap?: string;
  } = {},
): Promise<CanaryOutcome> {
  switch (c.type) {
    case 'command':
      return runCommand(c, credential, signal, {
        env: deps.commandEnv,
        sandbox: deps.commandSandbox ?? { type: 'bubblewrap', readOnlyPaths: [] },
        bwrap: deps.bwrap,
      });
    case 'http':
      return runHttp(c, credential, signal);
    case 'postgres-login':
      return runPostgresLogin(c, credential, signal);
    case 'mariadb-login':
      return runMariadbLogin(c, credential, signal);
    case 'aws-sts':
      return runAwsSts(c, credential, signal);
    case 'redis-auth':
      return runRedisAuth(c, credential, signal);
    case 'kubernetes-job':
      return deps.kube
        ? runKubernetesJob(c, credential, signal, deps.kube)
        : Promise.resolve({ ok: false, detail: 'no Kubernetes clients were given for a kubernetes-job canary' });
    case 'jwt-verify':
      return deps.kube
        ? runJwtVerify(c, credential, signal, deps.kube)
        : Promise.resolve({ ok: false, detail: 'no Kubernetes clients were given for a jwt-verify canary' });
    case 'tls-handshake':
      return runTlsHandshake(c, credential, signal);
    case 'vault-pki-handshake':
      return deps.kube && deps.vault
        ? runVaultPkiHandshake(c, credential, signal, { kube: deps.kube, vault: deps.vault })
        : Promise.resolve({
            ok: false,
            detail: 'no Kubernetes or Vault client was given for a vault-pki-handshake canary',
          });
  }
}
