/**
 * The worker's Vault connection against a private Vault dev server with TLS (`-dev-tls`): TLS is
 * verified unless VAULT_SKIP_VERIFY is explicitly true (for this loopback Vault), VAULT_CACERT is
 * honoured, and an AppRole identity logs in and stays logged in past its token's maximum TTL.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vaultClient from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPaths } from '../../dev/local-stack/config';
import { resolveBinary } from '../../dev/local-stack/services/vault';
import { vaultFromEnv } from '../../adapters/vault-client';
import { vaultLogin } from '../../adapters/vault-login';
import type { VaultSession } from '../../adapters/vault-login';
import { freePort, privateProcess } from '../helpers/private-service';
import type { PrivateService } from '../helpers/private-service';

const dir = mkdtempSync(join(tmpdir(), 'rotor-vault-tls-'));
const rootToken = 'rotor-tls-root';
let vault: PrivateService;
let addr: string;
const caFile = join(dir, 'vault-ca.pem');

beforeAll(async () => {
  const port = await freePort();
  addr = `https://127.0.0.1:${port}`;
  vault = privateProcess({
    address: addr,
    command: await resolveBinary({ paths: stackPaths(), log: () => undefined }),
    args: [
      'server',
      '-dev',
      '-dev-tls',
      `-dev-tls-cert-dir=${dir}`,
      `-dev-listen-address=127.0.0.1:${port}`,
      `-dev-root-token-id=${rootToken}`,
      '-dev-no-store-token',
    ],
    logFile: join(dir, 'vault.log'),
    ready: async () => {
      try {
        readFileSync(caFile);
      } catch {
        return false;
      }
      await vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_CACERT: caFile }).health();
      return true;
    },
  });
  await vault.start();
}, 120_000);

afterAll(async () => {
  await vault?.kill();
});

describe('TLS to Vault', () => {
  it('refuses a server it cannot verify, even with VAULT_SKIP_VERIFY=false', async () => {
    const v = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_SKIP_VERIFY: 'false' });
    await expect(v.read('sys/mounts')).rejects.toThrow(/certificate/i);
  });

  it('verifies against VAULT_CACERT', async () => {
    const v = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_CACERT: caFile });
    expect(await v.read('sys/mounts')).toHaveProperty('data');
  });

  it('skips verification only when VAULT_SKIP_VERIFY is explicitly true', async () => {
    const v = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_SKIP_VERIFY: 'true' });
    expect(await v.read('sys/mounts')).toHaveProperty('data');
  });

  it('names the variable when it is not a boolean or the CA cannot be read', () => {
    expect(() => vaultFromEnv({ VAULT_ADDR: addr, VAULT_SKIP_VERIFY: 'maybe' })).toThrow(/VAULT_SKIP_VERIFY='maybe'/);
    expect(() => vaultFromEnv({ VAULT_ADDR: addr, VAULT_CACERT: join(dir, 'missing.pem') })).toThrow(
      /VAULT_CACERT=.*missing\.pem cannot be read/,
    );
  });
});

describe('AppRole identity', () => {
  let session: VaultSession | undefined;
  afterAll(() => session?.stop());

  it('logs in, renews, and logs in again past the maximum TTL, so the worker never holds a dead token', async () => {
    const root = vaultFromEnv({ VAULT_ADDR: addr, VAULT_TOKEN: rootToken, VAULT_CACERT: caFile });
    await root.write('secret/data/identity-probe', { data: { note: 'not a credential' } });
    await root.addPolicy({
      name: 'probe-read',
      rules: 'path "secret/data/identity-probe" { capabilities = ["read"] }',
    });
    await root.enableAuth({ mount_point: 'approle', type: 'approle' });
    await root.write('auth/approle/role/rotor', { token_policies: 'probe-read', token_ttl: '3s', token_max_ttl: '5s' });
    const roleId = ((await root.read('auth/approle/role/rotor/role-id')) as { data: { role_id: string } }).data.role_id;
    const secretId = ((await root.write('auth/approle/role/rotor/secret-id', {})) as { data: { secret_id: string } })
      .data.secret_id;

    const env = { VAULT_ADDR: addr, VAULT_CACERT: caFile, VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId };
    const worker = vaultFromEnv(env);
    session = await vaultLogin([worker], env);
    const firstToken = worker.token;
    expect(firstToken).toBeTruthy();
    expect(session?.ttlSeconds).toBeGreaterThan(0);
    await expect(worker.read('secret/data/identity-probe')).resolves.toHaveProperty('data');

    // Past the 5 s maximum TTL the first token is dead; the session has logged in again.
    await new Promise((r) => setTimeout(r, 8_000));
    await expect(worker.read('secret/data/identity-probe')).resolves.toHaveProperty('data');
    expect(worker.token).not.toBe(firstToken);
    const stale = vaultClient({ endpoint: addr, token: firstToken, requestOptions: { ca: readFileSync(caFile) } });
    await expect(stale.read('secret/data/identity-probe')).rejects.toThrow(/permission denied|403/i);
  }, 60_000);

  it('a wrong secret id is a startup error naming the role id variable', async () => {
    const env = { VAULT_ADDR: addr, VAULT_CACERT: caFile, VAULT_ROLE_ID: 'nope', VAULT_SECRET_ID: 'nope' };
    await expect(vaultLogin([vaultFromEnv(env)], env)).rejects.toThrow(/AppRole login for VAULT_ROLE_ID nope/);
  });
});
