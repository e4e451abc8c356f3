import { stringify } from 'yaml';
import { devCredentials, ports } from './config';

/** The two databases of Temporal on PostgreSQL: history and the rest, and visibility (list queries). */
export const temporalDatabases = { default: 'temporal', visibility: 'temporal_visibility' } as const;

/**
 * History shards are fixed when a cluster first starts; 4 as in the server's own
 * development-postgres12.yaml (the dev server runs 1).
 */
const numHistoryShards = 4;

type ServiceName = 'frontend' | 'history' | 'matching' | 'worker';
const serviceNames: readonly ServiceName[] = ['frontend', 'history', 'matching', 'worker'];

function datastore(databaseName: string, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${ports.postgres}`,
      connectProtocol: 'tcp',
      user: devCredentials.postgresUser,
      password: devCredentials.postgresPassword,
      // Each of the four services opens its own pools: 4 × (8 + 2) stays well under PostgreSQL's 100.
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/**
 * The server's static configuration (`<config dir>/<env>.yaml`): all four services in one process
 * on loopback, persistence and visibility in the stack's PostgreSQL, no archival, no authorizer
 * (loopback only, like the dev server). `dynamicConfigFile` is the file {@link temporalDynamicConfig} goes to.
 */
export function temporalServerConfig(dynamicConfigFile: string): string {
  const p = ports.temporalPostgres;
  const frontend = `127.0.0.1:${p.frontend.grpc}`;
  const services = Object.fromEntries(
    serviceNames.map((name) => [
      name,
      {
        rpc: {
          grpcPort: p[name].grpc,
          membershipPort: p[name].membership,
          bindOnIP: '127.0.0.1',
          ...(name === 'frontend' ? { httpPort: p.frontendHttp } : {}),
        },
      },
    ]),
  );
  return stringify({
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards,
      datastores: {
        'postgres-default': datastore(temporalDatabases.default, 8),
        'postgres-visibility': datastore(temporalDatabases.visibility, 2),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: frontend,
          httpAddress: `127.0.0.1:${p.frontendHttp}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    publicClient: { hostPort: frontend },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  });
}

/**
 * How often a draining worker build's open pinned runs are counted, and how long after it stops
 * being current they first are (3 minutes each by default). The stack's servers count every 5 s,
 * so `rotor deployment wait-drained` answers within seconds in tests; production keeps the defaults.
 */
export const drainageDynamicConfig: Record<string, string> = {
  'matching.wv.VersionDrainageStatusRefreshInterval': '5s',
  'matching.wv.VersionDrainageStatusVisibilityGracePeriod': '5s',
};

/**
 * The dynamic configuration the CLI's dev server v1.5.1 sets for itself (its defaults in
 * temporalcli/commands.server.go and devserver/server.go, without Nexus), so that the two servers
 * differ in persistence, not in tuning; and the stack's drainage counting.
 */
export function temporalDynamicConfig(): string {
  const values: Record<string, boolean | number | string> = {
    ...drainageDynamicConfig,
    'system.forceSearchAttributesCacheRefreshOnRead': true,
    'frontend.persistenceMaxQPS': 10000,
    'history.persistenceMaxQPS': 45000,
    'history.hostLevelCacheMaxSize': 8096,
    'frontend.namespaceRPS.visibility': 100,
  };
  return stringify(Object.fromEntries(Object.entries(values).map(([k, value]) => [k, [{ value }]])));
}
