import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type NodeVault from 'node-vault';
import { vaultFromEnv } from '../vault-client';
import type pg from 'pg';
import type { Credential } from '../../core/playbook/schema';
import { awsIamAccessKeyKind } from './aws-iam';
import { jwtSigningKeyKind } from './jwt';
import { createKubeClients, loadKubeconfig } from '../kubernetes/clients';
import type { KubeClients } from '../kubernetes/clients';
import type { CredentialKind } from './kind';
import { mariadbUsersKind } from './mariadb';
import { mariadbAdminFromEnv } from './mariadb-env';
import { mariadbDefaults } from './mariadb-target';
import { mariadbTls } from './mariadb-tls';
import type { MariadbAdmin } from './mariadb-env';
import { postgresAlternatingUsersKind } from './postgres';
import { randomKind } from './random';
import { redisAclUserKind } from './redis-acl';
import { redisAdminFromEnv } from '../redis';
import type { RedisAdmin, RedisTarget } from '../redis';
import type { AccessKeyPair } from './values';
import { vaultDatabaseStaticRoleKind } from './vault-db';
import { vaultDatabaseDynamicRoleKind } from './vault-db-dynamic';
import { vaultPkiCertificateKind } from './vault-pki-leaf';
import { postgresTls } from './postgres-tls';
import { vaultPkiCaRolloverKind } from './vault-pki-ca';
import { awsRequestBounds } from '../request-timeout';

export type { CredentialKind } from './kind';
export type { AccessKeyPair, UserPassword } from './values';

/** Clients the credential kinds administer their targets with. */
export interface CredentialKindDeps {
  /** Admin connection settings for PostgreSQL role changes (a fresh object per call). */
  pgAdmin: () => pg.ClientConfig;
  /** Servers (besides pgAdmin's) admin credentials may go to; any when undefined (a development policy). */
  adminServers?: { host: string; port: number }[] | undefined;
  /** IAM client allowed to list, create, update and delete the users' access keys. */
  iam: IAMClient;
  /** An STS client that signs with the given key, for proving which keys AWS accepts. */
  stsFor: (creds: AccessKeyPair) => STSClient;
  vault: NodeVault.client;
  /** The identity Redis ACL users are administered with (read when first used). */
  redisAdmin: () => RedisAdmin;
  /** Redis servers admin credentials may go to; any when undefined (a development policy). */
  redisServers?: RedisTarget[] | undefined;
  /** rotor's MariaDB/MySQL admin account (a fresh object per call). */
  mariadbAdmin: () => MariadbAdmin;
  /** MariaDB servers (besides mariadbAdmin's) admin credentials may go to; any when undefined (a development policy). */
  mariadbServers?: { host: string; port: number }[] | undefined;
  /** Clients of every cluster context, for kinds that publish at the clusters (the JWKS of `jwt-signing-key`). */
  kube: () => KubeClients;
}

/** Every credential kind by its playbook `kind`. */
export type CredentialKinds = { [K in Credential['kind']]: CredentialKind<Extract<Credential, { kind: K }>> };

/** Builds the credential kinds over injected clients. */
export function createCredentialKinds(deps: CredentialKindDeps): CredentialKinds {
  return {
    random: randomKind(),
    'postgres-alternating-users': postgresAlternatingUsersKind(deps),
    'aws-iam-access-key': awsIamAccessKeyKind(deps),
    'vault-database-static-role': vaultDatabaseStaticRoleKind(deps),
    'vault-database-dynamic-role': vaultDatabaseDynamicRoleKind(deps),
    'redis-acl-user': redisAclUserKind(deps),
    'mariadb-users': mariadbUsersKind(deps),
    'jwt-signing-key': jwtSigningKeyKind(deps),
    'vault-pki-certificate': vaultPkiCertificateKind(deps),
    'vault-pki-ca-rollover': vaultPkiCaRolloverKind(deps),
  };
}

/** The kind for a credential policy, typed so `kind.create(policy, …)` accepts exactly that policy. */
export function kindFor<C extends Credential>(kinds: CredentialKinds, policy: C): CredentialKind<C> {
  return kinds[policy.kind] as unknown as CredentialKind<C>;
}

/**
 * Clients from the standard environment: PG* for the PostgreSQL admin connection, the AWS SDK's own
 * chain (AWS_REGION, credentials, AWS_ENDPOINT_URL) for IAM and STS, VAULT_ADDR/VAULT_TOKEN,
 * ROTOR_REDIS_USERNAME/ROTOR_REDIS_PASSWORD_FILE/ROTOR_REDIS_CACERT for Redis.
 * ROTOR_MARIADB_* for the MariaDB admin account, KUBECONFIG (read when first used) for the JWKS
 * ConfigMaps.
 */
export function credentialDepsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  vault: NodeVault.client = vaultFromEnv(env),
): CredentialKindDeps {
  // Checked now, so a worker that would send the admin password in cleartext does not start.
  const adminTls = postgresTls(env['PGHOST'], env['PGSSLMODE'], 'PGSSLMODE', env['PGSSLROOTCERT']);
  mariadbTls(mariadbDefaults(env).host, env);
  return {
    pgAdmin: () => ({
      ssl: adminTls,
      host: env['PGHOST'],
      port: env['PGPORT'] ? Number(env['PGPORT']) : undefined,
      user: env['PGUSER'],
      password: env['PGPASSWORD'],
      database: env['PGDATABASE'],
    }),
    iam: new IAMClient(awsRequestBounds(env)),
    stsFor: (creds) => new STSClient({ credentials: creds, ...awsRequestBounds(env) }),
    vault,
    redisAdmin: () => redisAdminFromEnv(env),
    mariadbAdmin: mariadbAdminFromEnv(env),
    kube: once(() => createKubeClients(loadKubeconfig())),
  };
}

/** `make`'s result, made on the first call and kept. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
