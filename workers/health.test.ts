import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { healthSettingsFromEnv, serveHealth } from './health';

describe('healthSettingsFromEnv', () => {
  it('is off unless ROTOR_HEALTH_PORT is set, and listens on loopback unless told otherwise', () => {
    expect(healthSettingsFromEnv({})).toBeUndefined();
    expect(healthSettingsFromEnv({ ROTOR_HEALTH_PORT: '0' })).toBeUndefined();
    expect(healthSettingsFromEnv({ ROTOR_HEALTH_PORT: '8080' })).toEqual({ port: 8080, host: '127.0.0.1' });
    expect(healthSettingsFromEnv({ ROTOR_HEALTH_PORT: '8080', ROTOR_HEALTH_HOST: '0.0.0.0' })).toEqual({
      port: 8080,
      host: '0.0.0.0',
    });
  });

  it('names the variable and the value it refuses', () => {
    expect(() => healthSettingsFromEnv({ ROTOR_HEALTH_PORT: 'http' })).toThrow(/ROTOR_HEALTH_PORT="http"/);
    expect(() => healthSettingsFromEnv({ ROTOR_HEALTH_PORT: '70000' })).toThrow(/ROTOR_HEALTH_PORT="70000"/);
    expect(() => healthSettingsFromEnv({ ROTOR_HEALTH_PORT: '1', ROTOR_HEALTH_HOST: 'pod' })).toThrow(
      /ROTOR_HEALTH_HOST="pod"/,
    );
  });
});

describe('serveHealth', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('is live until the worker fails or stops, and ready only while it polls', async () => {
    let state: State = 'INITIALIZED';
    const server = await serveHealth({ port: 0, host: '127.0.0.1' }, () => state);
    close = () => server.close();
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const status = async (path: string) => (await fetch(`${base}${path}`)).status;
    const seen: Record<string, [number, number]> = {};
    for (const s of ['INITIALIZED', 'RUNNING', 'DRAINING', 'STOPPING', 'DRAINED', 'STOPPED', 'FAILED'] as State[]) {
      state = s;
      seen[s] = [await status('/livez'), await status('/readyz')];
    }
    expect(seen).toEqual({
      INITIALIZED: [200, 503],
      RUNNING: [200, 200],
      DRAINING: [200, 503],
      STOPPING: [200, 503],
      DRAINED: [200, 503],
      STOPPED: [503, 503],
      FAILED: [503, 503],
    });
    expect(await status('/metrics')).toBe(404);
  });

  it('says which variable to change when the port is taken', async () => {
    const first = await serveHealth({ port: 0, host: '127.0.0.1' }, () => 'RUNNING');
    close = () => first.close();
    const port = (first.address() as AddressInfo).port;
    await expect(serveHealth({ port, host: '127.0.0.1' }, () => 'RUNNING')).rejects.toThrow(/ROTOR_HEALTH_PORT/);
  });
});
