import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { devCredentials, ports, stackEnv } from './config';
import { moto } from './services/moto';
import { vault } from './services/vault';
import { rotorSearchAttributes } from '../../core/search-attributes';

interface ComposeService {
  image?: string;
  command?: string;
  ports?: string[];
  environment?: Record<string, string>;
}
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, ComposeService>;
};

function hostPorts(service: string): number[] {
  return (compose.services[service]?.ports ?? []).map((p) => Number(p.split(':')[0]));
}

/** Compose service names stand where the native stack uses 127.0.0.1 and its host ports. */
const containerAddress: Record<string, string> = {
  TEMPORAL_ADDRESS: 'temporal:7233',
  VAULT_ADDR: 'http://vault:8200',
  AWS_ENDPOINT_URL: 'http://moto:5000',
  PGHOST: 'postgres',
  PGPORT: '5432',
  ROTOR_MARIADB_HOST: 'mariadb',
  ROTOR_MARIADB_PORT: '3306',
  ROTOR_POLICY_FILE: '/app/dev/policy/allow-all.yaml',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otelcol:4318',
};

describe('docker-compose.yml matches the native stack', () => {
  it('publishes the same host ports', () => {
    expect(hostPorts('temporal')).toEqual([ports.temporal, ports.temporalUi, ports.temporalMetrics]);
    expect(hostPorts('vault')).toEqual([ports.vault]);
    expect(hostPorts('moto')).toEqual([ports.moto]);
    expect(hostPorts('postgres')).toEqual([ports.postgres]);
    expect(hostPorts('mariadb')).toEqual([ports.mariadb]);
    expect(hostPorts('otelcol')).toEqual([ports.otlpHttp]);
  });

  it('gives the worker every stack variable, with the same values except container addresses', () => {
    const env = stackEnv({ cacheDir: '/x', stateDir: '/var/lib/rotor', logDir: '/x', runDir: '/x' });
    const worker = compose.services['worker']?.environment ?? {};
    expect(Object.keys(worker).sort()).toEqual(Object.keys(env).sort());
    for (const [k, v] of Object.entries(env)) expect({ [k]: worker[k] }).toEqual({ [k]: containerAddress[k] ?? v });
  });

  it('uses the same dev credentials and search attributes', () => {
    expect(compose.services['vault']?.command).toContain(`-dev-root-token-id=${devCredentials.vaultToken}`);
    expect(compose.services['postgres']?.environment?.['POSTGRES_PASSWORD']).toBe(devCredentials.postgresPassword);
    for (const [name, type] of Object.entries(rotorSearchAttributes)) {
      expect(compose.services['temporal']?.command).toContain(`--search-attribute ${name}=${type}`);
    }
    expect(compose.services['moto']?.image).toBe(`motoserver/moto:${moto.version}`);
    expect(compose.services['vault']?.image).toBe(`hashicorp/vault:${vault.version.replace(/^v/, '')}`);
  });
});
