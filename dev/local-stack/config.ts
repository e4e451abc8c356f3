import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopbackPki } from './pki';

/** The development policy: every playbook may touch everything (see README "Policy"). */
export const devPolicyFile = fileURLToPath(new URL('../policy/allow-all.yaml', import.meta.url));

/**
 * Where the local stack keeps builds, state and logs. Builds are cached per version under
 * `ROTOR_CACHE_DIR` (default `~/.cache/rotor`) so only the first run on a machine pays for them;
 * everything a running stack writes (data, logs, pids, certificates) lives under `ROTOR_STATE_DIR`
 * (default `~/.local/state/rotor`; `/var/lib/rotor` for root, because PostgreSQL refuses to run as
 * root and its own user cannot enter root's home). Nothing is written into the repository.
 */
export interface StackPaths {
  cacheDir: string;
  stateDir: string;
  logDir: string;
  runDir: string;
}

export function stackPaths(env: NodeJS.ProcessEnv = process.env): StackPaths {
  const cacheDir = env['ROTOR_CACHE_DIR'] ?? join(homedir(), '.cache', 'rotor');
  const defaultState = process.getuid?.() === 0 ? '/var/lib/rotor' : join(homedir(), '.local', 'state', 'rotor');
  const stateDir = env['ROTOR_STATE_DIR'] ?? defaultState;
  return { cacheDir, stateDir, logDir: join(stateDir, 'logs'), runDir: join(stateDir, 'run') };
}

/** Loopback ports of every stack service. docker-compose.yml must publish the same ones (a test checks). */
export const ports = {
  temporal: 7233,
  temporalUi: 8233,
  temporalMetrics: 7234,
  /** The mTLS front of the Temporal frontend (service temporal-tls). */
  temporalTls: 7243,
  /**
   * The optional Temporal server on PostgreSQL (service temporal-postgres): gRPC and membership
   * (ringpop) port of each of its four services, and the frontend's HTTP API.
   */
  temporalPostgres: {
    frontend: { grpc: 7235, membership: 6935 },
    frontendHttp: 7236,
    history: { grpc: 7237, membership: 6937 },
    matching: { grpc: 7238, membership: 6938 },
    worker: { grpc: 7239, membership: 6939 },
  },
  vault: 8200,
  /** The stack's Vault also listens with TLS here (certificate from the stack's CA, `vaultTlsDir`). */
  vaultTls: 8210,
  moto: 5000,
  postgres: 55432,
  /** Redis (service redis): plaintext and TLS (certificate from the stack's CA, `redisTlsDir`). */
  redis: 56379,
  redisTls: 56380,
  mariadb: 53306,
  etcd: 23790,
  etcdPeer: 23800,
  kube: { 'cluster-a': 16443, 'cluster-b': 16444, 'cluster-c': 16445 },
  kubeControllerManager: { 'cluster-a': 17257, 'cluster-b': 17258, 'cluster-c': 17259 },
  kubelet: { 'cluster-a': 17250, 'cluster-b': 17251, 'cluster-c': 17252 },
  kubeletHealthz: { 'cluster-a': 17260, 'cluster-b': 17261, 'cluster-c': 17262 },
  kubeScheduler: { 'cluster-a': 17267, 'cluster-b': 17268, 'cluster-c': 17269 },
  esoMetrics: { 'cluster-a': 18081, 'cluster-b': 18082, 'cluster-c': 18083 },
  esoHealth: { 'cluster-a': 18091, 'cluster-b': 18092, 'cluster-c': 18093 },
  codecServer: 8888,
  /**
   * The `workers` service's pod gateway, bound on cluster-a's node gateway address (10.200.0.1),
   * not loopback: what the in-cluster workers reach Temporal, Vault and the apiservers at.
   */
  workersGateway: { temporal: 17300, vault: 17301, 'cluster-a': 17302, 'cluster-b': 17303, 'cluster-c': 17304 },
  workerMetrics: 9464,
  otlpHttp: 4318,
} as const;

export const clusterNames = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
export type ClusterName = (typeof clusterNames)[number];

/**
 * Images every node of the local stack has imported (built locally, no registry): pods use them
 * with `imagePullPolicy: Never`. `tools` holds busybox (sh, wget, nc, …), a PostgreSQL client
 * (`psql`), a Redis client (`redis-cli`) and a MariaDB client (`mariadb`).
 */
export const nodeImages = {
  pause: 'rotor.local/pause:1',
  tools: 'rotor.local/tools:1',
} as const;

/** Fixed dev credentials of the local stack. They guard loopback-only throwaway services. */
export const devCredentials = {
  vaultToken: 'rotor-dev-root',
  awsAccessKeyId: 'testing',
  awsSecretAccessKey: 'testing',
  awsRegion: 'us-east-1',
  postgresUser: 'postgres',
  postgresPassword: 'rotor-dev-postgres',
  /** rotor's Redis admin user; its password is a stack key (`ROTOR_REDIS_PASSWORD_FILE`). */
  redisAdminUser: 'rotor',
} as const;

/**
 * The environment rotor's own clients read to reach the local stack. These are the standard
 * variables of each client (TEMPORAL_ADDRESS, VAULT_ADDR, AWS_ENDPOINT_URL, KUBECONFIG, PG*), so no
 * code path exists only for tests. docker-compose.yml sets the same variables on the worker.
 */
export function stackEnv(paths: StackPaths = stackPaths()): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_UI_URL: `http://127.0.0.1:${ports.temporalUi}`,
    VAULT_ADDR: `http://127.0.0.1:${ports.vault}`,
    VAULT_TOKEN: devCredentials.vaultToken,
    AWS_ENDPOINT_URL: `http://127.0.0.1:${ports.moto}`,
    AWS_REGION: devCredentials.awsRegion,
    AWS_ACCESS_KEY_ID: devCredentials.awsAccessKeyId,
    AWS_SECRET_ACCESS_KEY: devCredentials.awsSecretAccessKey,
    KUBECONFIG: join(paths.stateDir, 'kube', 'kubeconfig'),
    PGHOST: '127.0.0.1',
    PGPORT: String(ports.postgres),
    PGUSER: devCredentials.postgresUser,
    PGPASSWORD: devCredentials.postgresPassword,
    PGDATABASE: 'postgres',
    ROTOR_REDIS_USERNAME: devCredentials.redisAdminUser,
    ROTOR_REDIS_PASSWORD_FILE: join(paths.stateDir, 'keys', 'redis-admin.password'),
    ROTOR_REDIS_CACERT: loopbackPki(redisTlsDir(paths)).ca.cert,
    // MariaDB's clients have no standard variables for a password; rotor's admin account reads its
    // password from a key file the stack creates (service mariadb).
    ROTOR_MARIADB_HOST: '127.0.0.1',
    ROTOR_MARIADB_PORT: String(ports.mariadb),
    ROTOR_MARIADB_USER: 'rotor',
    ROTOR_MARIADB_PASSWORD_FILE: join(paths.stateDir, 'keys', 'mariadb-admin.password'),
    // Verified TLS even on loopback, so every MariaDB test runs the path a remote server takes.
    ROTOR_MARIADB_SSL_MODE: 'verify_identity',
    ROTOR_MARIADB_SSL_CA: loopbackPki(mariadbTlsDir(paths)).ca.cert,
    ROTOR_FINGERPRINT_KEY_FILE: join(paths.stateDir, 'keys', 'fingerprint.key'),
    ROTOR_CODEC_KEY_FILE: join(paths.stateDir, 'keys', 'codec.key'),
    ROTOR_POLICY_FILE: devPolicyFile,
    // The stack's OpenTelemetry Collector: the worker exports its audit trail and traces there.
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.otlpHttp}`,
  };
}

/** Where the stack's Redis keeps its CA and serving certificate. */
export function redisTlsDir(paths: StackPaths): string {
  return join(paths.stateDir, 'redis', 'tls');
}

/** Where the stack's MariaDB keeps its CA and serving certificate. */
export function mariadbTlsDir(paths: StackPaths): string {
  return join(paths.stateDir, 'mariadb', 'tls');
}

/** Where the stack keeps its Vault TLS listener's CA and serving certificate. */
export function vaultTlsDir(paths: StackPaths): string {
  return join(paths.stateDir, 'vault-tls');
}

/**
 * The stack's TLS endpoints, beside (never instead of) `stackEnv`'s plaintext ones: the worker does
 * not read these; a shell or test points rotor at Vault over TLS with
 * `VAULT_ADDR=$ROTOR_VAULT_TLS_ADDR VAULT_CACERT=$ROTOR_VAULT_TLS_CACERT`.
 */
export function stackTlsEnv(paths: StackPaths = stackPaths()): Record<string, string> {
  return {
    ROTOR_VAULT_TLS_ADDR: `https://127.0.0.1:${ports.vaultTls}`,
    ROTOR_VAULT_TLS_CACERT: loopbackPki(vaultTlsDir(paths)).ca.cert,
  };
}
