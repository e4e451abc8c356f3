/**
 * `dev/stack up` gives a running Vault that lacks the TLS listener (a stack from before it) the
 * listener by restarting it on its data, and makes the listener's PKI again when it is gone. Run on
 * a private Vault (own state directory and ports) with the stack's service code, never the shared one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vaultClient from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devCredentials, stackPaths, vaultTlsDir } from '../../dev/local-stack/config';
import type { StackPaths } from '../../dev/local-stack/config';
import { loopbackPki } from '../../dev/local-stack/pki';
import { runningPid, startProcess, stopProcess } from '../../dev/local-stack/process';
import type { StackContext } from '../../dev/local-stack/service';
import { resolveBinary, vaultService } from '../../dev/local-stack/services/vault';
import { unsealVault, vaultServerArgs } from '../../dev/local-stack/services/vault-server';
import { vaultFromEnv } from '../../adapters/vault-client';
import { freePort } from '../helpers/private-service';

const dir = mkdtempSync(join(tmpdir(), 'rotor-stack-vault-tls-'));
const paths: StackPaths = { ...stackPaths(), stateDir: dir, logDir: join(dir, 'logs'), runDir: join(dir, 'run') };
const log: string[] = [];
const ctx: StackContext = { paths, log: (line) => log.push(line) };
let ports: { port: number; tlsPort: number };

/** A client of the private Vault's TLS listener that trusts the CA now on disk. */
const overTls = () =>
  vaultFromEnv({
    VAULT_ADDR: `https://127.0.0.1:${ports.tlsPort}`,
    VAULT_TOKEN: devCredentials.vaultToken,
    VAULT_CACERT: loopbackPki(vaultTlsDir(paths)).ca.cert,
  });

beforeAll(async () => {
  ports = { port: await freePort(), tlsPort: await freePort() };
});

afterAll(async () => {
  await stopProcess(ctx, 'vault');
  rmSync(dir, { recursive: true, force: true });
});

describe("the stack's Vault TLS listener", () => {
  it('up restarts a running Vault without the listener on its data, and is a no-op once it serves TLS', async () => {
    // Vault as `up` ran it before the listener existed: the same process record, plaintext only.
    const spec = { dir: join(dir, 'vault'), port: ports.port };
    const old = startProcess(ctx, 'vault', await resolveBinary(ctx), vaultServerArgs(spec));
    await unsealVault(spec);
    const plain = vaultClient({ endpoint: `http://127.0.0.1:${ports.port}`, token: devCredentials.vaultToken });
    await plain.mount({ mount_point: 'secret', type: 'kv', options: { version: '2' } });
    await plain.write('secret/data/probe', { data: { note: 'written before the restart' } });

    const service = vaultService(ports);
    expect(await service.health(ctx)).toBe(
      `TLS listener https://127.0.0.1:${ports.tlsPort}/v1/sys/health: no CA at ${loopbackPki(vaultTlsDir(paths)).ca.cert}`,
    );
    await service.start(ctx);
    expect(log).toContainEqual(expect.stringMatching(`vault: restarting to serve https://127.0.0.1:${ports.tlsPort}`));
    const restarted = runningPid(ctx, 'vault');
    expect(restarted).toBeDefined();
    expect(restarted).not.toBe(old.pid);
    expect(await service.health(ctx)).toBeUndefined();
    // Same data and the same token over TLS, verified against the stack's CA.
    expect(await overTls().read('secret/data/probe')).toMatchObject({
      data: { data: { note: 'written before the restart' } },
    });

    log.length = 0;
    await service.start(ctx);
    expect(runningPid(ctx, 'vault')).toBe(restarted);
    expect(log).toEqual([]);
  });

  it('makes the PKI again when it is gone, and restarts Vault onto the new certificate', async () => {
    const service = vaultService(ports);
    const oldCa = readFileSync(loopbackPki(vaultTlsDir(paths)).ca.cert, 'utf8');
    const before = runningPid(ctx, 'vault');
    rmSync(vaultTlsDir(paths), { recursive: true });
    expect(await service.health(ctx)).toMatch(/^TLS listener .*: no CA at /);
    await service.start(ctx);
    expect(readFileSync(loopbackPki(vaultTlsDir(paths)).ca.cert, 'utf8')).not.toBe(oldCa);
    expect(runningPid(ctx, 'vault')).not.toBe(before);
    expect(await service.health(ctx)).toBeUndefined();
    expect(await overTls().read('secret/data/probe')).toHaveProperty('data');
  });
});
