import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { devCredentials, ports } from './config';
import { temporalDatabases, temporalDynamicConfig, temporalServerConfig } from './temporal-postgres-config';
import { temporalServerVersion } from './services/temporal-postgres';

interface Rpc {
  grpcPort: number;
  membershipPort: number;
  httpPort?: number;
  bindOnIP: string;
}
interface ServerConfig {
  persistence: {
    datastores: Record<
      string,
      { sql: { pluginName: string; databaseName: string; connectAddr: string; user: string; maxConns: number } }
    >;
  };
  services: Record<string, { rpc: Rpc }>;
  publicClient: { hostPort: string };
  dynamicConfigClient: { filepath: string };
}

const config = parse(temporalServerConfig('/state/dynamic.yaml')) as ServerConfig;

/** Every number in the stack's port table except the ones of temporal-postgres. */
function otherStackPorts(): number[] {
  const { temporalPostgres: _own, ...rest } = ports;
  const flat = (v: unknown): number[] =>
    typeof v === 'number' ? [v] : typeof v === 'object' && v ? Object.values(v).flatMap(flat) : [];
  return flat(rest);
}

describe('Temporal on PostgreSQL: server configuration', () => {
  it('runs the four services on loopback, on ports no other stack service uses and distinct from each other', () => {
    const own = Object.values(config.services).flatMap(({ rpc }) => [
      rpc.grpcPort,
      rpc.membershipPort,
      ...(rpc.httpPort ? [rpc.httpPort] : []),
    ]);
    expect(Object.keys(config.services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    expect(new Set(own).size).toBe(own.length);
    expect(own.filter((p) => otherStackPorts().includes(p))).toEqual([]);
    for (const { rpc } of Object.values(config.services)) expect(rpc.bindOnIP).toBe('127.0.0.1');
    expect(config.publicClient.hostPort).toBe(`127.0.0.1:${ports.temporalPostgres.frontend.grpc}`);
    expect(config.dynamicConfigClient.filepath).toBe('/state/dynamic.yaml');
  });

  it("keeps history and visibility in the stack's PostgreSQL within its 100 connections", () => {
    const stores = Object.values(config.persistence.datastores).map((d) => d.sql);
    expect(stores.map((s) => s.databaseName).sort()).toEqual(Object.values(temporalDatabases).sort());
    for (const s of stores) {
      expect(s).toMatchObject({ pluginName: 'postgres12', connectAddr: `127.0.0.1:${ports.postgres}` });
      expect(s.user).toBe(devCredentials.postgresUser);
    }
    // Each service opens its own pools.
    const perService = stores.reduce((sum, s) => sum + s.maxConns, 0);
    expect(4 * perService).toBeLessThanOrEqual(50);
  });

  it("sets the dev server's dynamic configuration as the server's file format wants it", () => {
    const dynamic = parse(temporalDynamicConfig()) as Record<string, { value: unknown }[]>;
    expect(dynamic['system.forceSearchAttributesCacheRefreshOnRead']).toEqual([{ value: true }]);
    expect(dynamic['history.persistenceMaxQPS']).toEqual([{ value: 45000 }]);
  });

  it('builds the server version the wrapper module pins', () => {
    const goMod = readFileSync(new URL('../go/temporal-server/go.mod', import.meta.url), 'utf8');
    expect(goMod).toMatch(
      new RegExp(`^\\s*go\\.temporal\\.io/server ${temporalServerVersion.replace(/\./g, '\\.')}\\b`, 'm'),
    );
  });
});
