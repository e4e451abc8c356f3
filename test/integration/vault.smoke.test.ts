/**
 * Smoke test of the local stack's Vault: KV v2 round trip through node-vault, the client rotor
 * uses. Needs `dev/stack up vault`; it fails (never skips) when no real Vault answers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import vaultClient from 'node-vault';
import { afterAll, describe, expect, it } from 'vitest';
import { stackEnv } from '../../dev/local-stack/config';

const env = stackEnv();
const endpoint = env['VAULT_ADDR'];
const token = env['VAULT_TOKEN'];
if (endpoint === undefined || token === undefined) throw new Error('stackEnv() has no VAULT_ADDR/VAULT_TOKEN');

const vault = vaultClient({ apiVersion: 'v1', endpoint, token, requestOptions: { timeout: 10_000 } });
// A fresh path per run, so the version numbers below are exact.
const path = `smoke/${randomUUID()}`;

interface KvWrite {
  data: { version: number };
}
interface KvRead {
  data: { data: Record<string, string>; metadata: { version: number; destroyed: boolean } };
}

describe('vault (local stack)', () => {
  afterAll(async () => {
    // Removes every version and the metadata; best effort so a failed test still reports its own error.
    await vault.delete(`secret/metadata/${path}`).catch(() => undefined);
  });

  it('is an initialized, unsealed Vault server', async () => {
    const health = (await vault.health()) as { initialized: boolean; sealed: boolean; version: string };
    expect(health.initialized).toBe(true);
    expect(health.sealed).toBe(false);
    expect(health.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('writes a KV v2 secret and reads it back with its version', async () => {
    const first = randomBytes(16).toString('hex');
    const second = randomBytes(16).toString('hex');

    const w1 = (await vault.write(`secret/data/${path}`, { data: { value: first } })) as KvWrite;
    expect(w1.data.version).toBe(1);
    const r1 = (await vault.read(`secret/data/${path}`)) as KvRead;
    expect(r1.data.data['value']).toBe(first);
    expect(r1.data.metadata.version).toBe(1);

    // A second write must create version 2 while keeping version 1 readable: real KV v2 semantics.
    const w2 = (await vault.write(`secret/data/${path}`, { data: { value: second } })) as KvWrite;
    expect(w2.data.version).toBe(2);
    const r2 = (await vault.read(`secret/data/${path}`)) as KvRead;
    expect(r2.data.data['value']).toBe(second);
    expect(r2.data.metadata.version).toBe(2);
    const old = (await vault.read(`secret/data/${path}?version=1`)) as KvRead;
    expect(old.data.data['value']).toBe(first);
    expect(old.data.metadata.version).toBe(1);
  });

  it('has the database secrets engine enabled at database/', async () => {
    const mounts = (await vault.mounts()) as { data?: Record<string, { type: string }> } & Record<string, unknown>;
    const database = (mounts.data ?? mounts)['database/'] as { type: string } | undefined;
    expect(database?.type).toBe('database');
  });

  it('was built with the plugins rotor uses (the stack builds a minimal Vault plus these)', async () => {
    const catalog = (
      (await vault.request({ path: '/sys/plugins/catalog', method: 'GET' })) as {
        data: Record<'auth' | 'database' | 'secret', string[]>;
      }
    ).data;
    expect(catalog.database).toEqual(
      expect.arrayContaining(['postgresql-database-plugin', 'mysql-database-plugin', 'redis-database-plugin']),
    );
    expect(catalog.auth).toEqual(expect.arrayContaining(['kubernetes', 'approle', 'jwt', 'cert']));
    expect(catalog.secret).toEqual(expect.arrayContaining(['kv', 'pki', 'transit']));
  });
});
