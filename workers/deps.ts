import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { vaultFromEnv } from '../adapters/vault-client';
import type { ActivityDeps } from '../activities/index';
import { createCredentialKinds, credentialDepsFromEnv } from '../adapters/credentials/index';
import { mariadbDefaults } from '../adapters/credentials/mariadb-target';
import { loadKeyring } from '../adapters/keys';
import { createKubeClients, loadKubeconfig } from '../adapters/kubernetes/clients';
import { policyFromEnv } from '../adapters/policy-file';
import { whoCanReadAll } from '../inspect/who-can-read';
import { awsRequestBounds } from '../adapters/request-timeout';

/** Where a playbook naming no database host or AWS region goes, as the worker's policy checks see it. */
export function policyDefaultsFromEnv(env: NodeJS.ProcessEnv = process.env): ActivityDeps['policyDefaults'] {
  return {
    defaultDatabase: { host: env['PGHOST'], port: env['PGPORT'] ? Number(env['PGPORT']) : undefined },
    defaultMariadb: mariadbDefaults(env),
    defaultRegion: env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'],
  };
}

/**
 * Activity clients from the standard environment: VAULT_ADDR/VAULT_TOKEN for Vault, the AWS SDK's
 * own chain (AWS_REGION, credentials, AWS_ENDPOINT_URL) for Secrets Manager; the admin policy from
 * ROTOR_POLICY_FILE (missing or invalid: the worker does not start).
 */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): ActivityDeps {
  const policy = policyFromEnv(env);
  const kubeconfig = loadKubeconfig();
  // One client for the store and the credential kinds, so one AppRole login keeps both authenticated.
  const vault = vaultFromEnv(env);
  // The JWKS ConfigMaps of jwt-signing-key are written with the worker's own kubeconfig.
  const kube = createKubeClients(kubeconfig);
  return {
    vault,
    secretsManager: new SecretsManagerClient(awsRequestBounds(env)),
    fingerprintKeys: loadKeyring('ROTOR_FINGERPRINT_KEY', env),
    kubeconfig,
    credentialKinds: createCredentialKinds({
      ...credentialDepsFromEnv(env, vault),
      adminServers: policy.allowAll ? undefined : Object.values(policy.databaseServers),
      redisServers: policy.allowAll ? undefined : Object.values(policy.redisServers),
      mariadbServers: policy.allowAll ? undefined : Object.values(policy.mariadbServers),
      kube: () => kube,
    }),
    policy,
    policyDefaults: policyDefaultsFromEnv(env),
    // Bounded: a cluster that does not answer is listed as unseen instead of failing plan.
    whoCanRead: (targets, lists) =>
      whoCanReadAll(kubeconfig, targets, { timeoutMs: 10_000, ...(lists ? { lists } : {}) }),
  };
}
