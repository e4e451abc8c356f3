import type { Playbook } from '../playbook/schema';
import { awsSecretRegion } from '../policy/match';

/**
 * The servers one rotation of `playbook` loads, one key each: the Vault server (KV stores and
 * Vault database roles), the Secrets Manager region, the database/Redis server the credential
 * lives on, IAM, and each cluster's apiserver. An incident bounds how many rotations run at once
 * against one key. Servers left to the worker's defaults (PGHOST, AWS_REGION) get a `default`
 * key: the worker resolves them, and a playbook cannot name the same server two ways.
 */
export function backendKeys(playbook: Playbook): string[] {
  const spec = playbook.spec;
  const store = spec.secret.store;
  const keys = new Set<string>();
  if (store.type === 'vault') keys.add('vault');
  else keys.add(`secretsmanager/${store.region ?? awsSecretRegion(store.secretId) ?? 'default'}`);
  const c = spec.credential;
  switch (c.kind) {
    case 'postgres-alternating-users':
      keys.add(`postgres/${c.host ?? 'default'}:${c.port ?? 'default'}`);
      break;
    case 'mariadb-users':
      keys.add(`mariadb/${c.host ?? 'default'}:${c.port ?? 'default'}`);
      break;
    case 'redis-acl-user':
      keys.add(`redis/${c.host}:${c.port}`);
      break;
    case 'vault-database-static-role':
    case 'vault-database-dynamic-role':
      keys.add('vault');
      break;
    case 'aws-iam-access-key':
      keys.add('iam');
      break;
    default:
      break;
  }
  for (const cluster of spec.clusters) keys.add(`apiserver/${cluster.context ?? cluster.name}`);
  return [...keys].sort();
}
