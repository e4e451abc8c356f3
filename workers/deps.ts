import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import vaultClient from 'node-vault';
import type { ActivityDeps } from '../activities/index';
import { createCredentialKinds, credentialDepsFromEnv } from '../adapters/credentials/index';
import { loadKey } from '../adapters/keys';
import { loadKubeconfig } from '../adapters/kubernetes/clients';

/**
 * Activity clients from the standard environment: VAULT_ADDR/VAULT_TOKEN for Vault, the AWS SDK's
 * own chain (AWS_REGION, credentials, AWS_ENDPOINT_URL) for Secrets Manager.
 */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): ActivityDeps {
  const vaultAddr = env['VAULT_ADDR'];
  if (!vaultAddr)
    throw new Error('VAULT_ADDR is not set: the worker needs the Vault address (e.g. http://127.0.0.1:8200)');
  return {
    vault: vaultClient({ endpoint: vaultAddr, token: env['VAULT_TOKEN'] ?? '' }),
    secretsManager: new SecretsManagerClient({}),
    fingerprintKey: loadKey('ROTOR_FINGERPRINT_KEY', env),
    kubeconfig: loadKubeconfig(),
    credentialKinds: createCredentialKinds(credentialDepsFromEnv(env)),
  };
}
