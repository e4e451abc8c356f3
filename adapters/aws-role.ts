import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { Store } from '../core/playbook/schema';
import { awsRequestBounds } from './request-timeout';

type AwsStore = Extract<Store, { type: 'aws' }>;

/** The STS session name for a store's calls: says rotor, and which secret, in CloudTrail (≤ 64 chars). */
export function roleSessionName(store: AwsStore): string {
  return `rotor-${store.secretId.replace(/^arn:.*:secret:/, '').replace(/[^\w+=,.@-]/g, '-')}`.slice(0, 64);
}

/**
 * Credentials of the store's `roleArn`, assumed through STS with the worker's own identity (the SDK's
 * default chain; AWS_ENDPOINT_URL(_STS) for the endpoint) and refreshed by the SDK before they expire.
 * The external id `rotor` lets a role's trust policy require that it is rotor that assumes it.
 */
export function assumedRoleCredentials(
  store: AwsStore & { roleArn: string },
): ReturnType<typeof fromTemporaryCredentials> {
  return fromTemporaryCredentials({
    params: { RoleArn: store.roleArn, RoleSessionName: roleSessionName(store), ExternalId: 'rotor' },
    clientConfig: { ...awsRequestBounds(), ...(store.region ? { region: store.region } : {}) },
  });
}

/**
 * Secrets Manager clients per store: the worker's own `base` client, or, for a store with `roleArn`,
 * one client per role and session that signs with the assumed role's credentials.
 */
export function secretsManagerPerStore(base: SecretsManagerClient): (store: AwsStore) => SecretsManagerClient {
  const byRole = new Map<string, SecretsManagerClient>();
  return (store) => {
    const roleArn = store.roleArn;
    if (!roleArn) return base;
    const key = `${roleArn}\n${roleSessionName(store)}\n${store.region ?? ''}`;
    let client = byRole.get(key);
    if (!client) {
      client = new SecretsManagerClient({
        ...awsRequestBounds(),
        credentials: assumedRoleCredentials({ ...store, roleArn }),
        ...(store.region ? { region: store.region } : {}),
      });
      byRole.set(key, client);
    }
    return client;
  };
}
