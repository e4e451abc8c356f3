import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { devCredentials, ports, stackEnv } from './config';
import { moto } from './services/moto';
import { vault } from './services/vault';
import { rotorSearchAttributes } from '../../core/search-attributes';

interface ComposeService {
  image?: string;
  read_only?: boolean;
  volumes?: string[];
  command?: string;
  ports?: string[];
  environment?: Record<string, string>;
}
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, ComposeService>;
};

/** `host ip:host port:container port` of each published port. */
function published(service: string): { ip: string; port: number }[] {
  return (compose.services[service]?.ports ?? []).map((p) => {
    const parts = p.split(':');
    return { ip: parts.length === 3 ? (parts[0] ?? '') : '0.0.0.0 (all interfaces)', port: Number(parts.at(-2)) };
  });
}
const hostPorts = (service: string): number[] => published(service).map((p) => p.port);

/** The worker runs in its image, dev/policy mounted at /etc/rotor/policy. Every address is the stack's loopback one. */
const containerPath: Record<string, string> = {
  ROTOR_POLICY_FILE: '/etc/rotor/policy/allow-all.yaml',
};

describe('docker-compose.yml matches the native stack', () => {
  it("runs the worker from the image the chart deploys (npm run build:image's archive), read-only, without the repository", () => {
    const worker = compose.services['worker'];
    expect(worker?.image).toMatch(/^\$\{ROTOR_WORKER_IMAGE:\?build the worker image first - npm run build:image/);
    expect(worker?.read_only).toBe(true);
    expect(worker?.volumes).toEqual(['rotor-state:/var/lib/rotor:ro', './dev/policy:/etc/rotor/policy:ro']);
    expect(
      existsSync(new URL(`../policy/${basename(containerPath['ROTOR_POLICY_FILE'] ?? '')}`, import.meta.url)),
    ).toBe(true);
  });

  it('publishes the same host ports', () => {
    expect(hostPorts('temporal')).toEqual([ports.temporal, ports.temporalUi, ports.temporalMetrics]);
    expect(hostPorts('vault')).toEqual([ports.vault]);
    expect(hostPorts('moto')).toEqual([ports.moto]);
    expect(hostPorts('postgres')).toEqual([ports.postgres]);
    expect(hostPorts('mariadb')).toEqual([ports.mariadb]);
    expect(hostPorts('otelcol')).toEqual([ports.otlpHttp]);
  });

  it('publishes every port on 127.0.0.1 only, and the worker reaches them on loopback (host network)', () => {
    const all = Object.keys(compose.services).flatMap((s) => published(s).map((p) => `${s}:${p.port} on ${p.ip}`));
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((p) => !p.endsWith(' on 127.0.0.1'))).toEqual([]);
    expect((compose.services['worker'] as { network_mode?: string } | undefined)?.network_mode).toBe('host');
  });

  it('gives the worker every stack variable, with the same values except container paths', () => {
    const env = stackEnv({ cacheDir: '/x', stateDir: '/var/lib/rotor', logDir: '/x', runDir: '/x' });
    const worker = compose.services['worker']?.environment ?? {};
    expect(Object.keys(worker).sort()).toEqual(Object.keys(env).sort());
    for (const [k, v] of Object.entries(env)) expect({ [k]: worker[k] }).toEqual({ [k]: containerPath[k] ?? v });
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
