/**
 * Plaintext beyond this machine, from the position of someone on the network path: a worker (and
 * the CLI) pointed at an `http://` Vault, a Temporal frontend without TLS, or a kubeconfig cluster
 * served over http or with verification off, on an address that is not loopback, refuses to start
 * and names the setting, and not one byte reaches that address. The listener stands for whoever
 * would read the Vault token, the workflow inputs or a service account's token off the wire.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { credentialSchema } from '../../core/playbook/schema';
import { runRotor } from '../helpers/cli';
import { useStackEnv } from '../helpers/stack-env';
import { startWorkerProcess } from '../helpers/worker-process';

const stack = useStackEnv();

/** This machine's first address that is not loopback: a real interface, as a remote service would be. */
function outsideAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!found) throw new Error('this test needs a non-loopback IPv4 interface to listen on; the machine has none');
  return found.address;
}

/**
 * A TCP listener that counts connections and bytes, what a network attacker would have seen, and
 * by default hangs up on the first bytes, so a client that did connect fails at once.
 */
async function wire(
  host: string,
  answer: (s: Socket, d: Buffer) => void = (s) => s.destroy(),
): Promise<{ server: Server; port: number; seen: { connections: number; bytes: number; data: Buffer[] } }> {
  const seen = { connections: 0, bytes: 0, data: [] as Buffer[] };
  const server = createServer((s) => {
    seen.connections++;
    s.on('data', (d: Buffer) => {
      seen.bytes += d.length;
      seen.data.push(d);
      answer(s, d);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('listener has no port');
  return { server, port: address.port, seen };
}

let dir: string;
let host: string;
let listener: Awaited<ReturnType<typeof wire>>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rotor-plaintext-'));
  host = outsideAddress();
  listener = await wire(host);
});

afterAll(async () => {
  await new Promise((r) => listener?.server.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A kubeconfig whose one cluster is served at `server`, with the stack's token user. */
function kubeconfig(name: string, cluster: Record<string, unknown>): string {
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster }],
      users: [{ name: 'u', user: { token: 'a-service-account-token' } }],
      contexts: [{ name, context: { cluster: name, user: 'u' } }],
      'current-context': name,
    }),
  );
  return file;
}

async function refusedWorker(name: string, env: Record<string, string>): Promise<string> {
  const error = await startWorkerProcess({
    taskQueue: `plaintext-${name}-${randomUUID()}`,
    logFile: join(dir, `${name}.log`),
    env,
  }).then(
    async (w) => {
      await w.stop();
      throw new Error(`the worker started with ${JSON.stringify(env)}`);
    },
    (e: Error) => e.message,
  );
  expect(error).toMatch(/^worker process exited \(1\) before it started/);
  return error;
}

describe('plaintext beyond this machine', () => {
  it('a worker with an http:// Vault beyond loopback refuses to start naming VAULT_ADDR; no byte reaches it', async () => {
    const addr = `http://${host}:${listener.port}`;
    const error = await refusedWorker('vault', { VAULT_ADDR: addr });
    expect(error).toContain(
      `VAULT_ADDR ${addr} is plaintext http beyond this machine: the Vault token and every secret would travel in cleartext; use https://`,
    );
    expect(listener.seen).toMatchObject({ connections: 0, bytes: 0 });
  });

  it('a worker and the CLI with a Temporal frontend beyond loopback and TLS off refuse, naming TEMPORAL_ADDRESS; no byte reaches it', async () => {
    const addr = `${host}:${listener.port}`;
    const refusal = `TEMPORAL_ADDRESS ${addr} is beyond this machine and TLS is off: workflow inputs, signals and results would travel in cleartext; set TEMPORAL_TLS=true`;
    expect(await refusedWorker('temporal', { TEMPORAL_ADDRESS: addr })).toContain(refusal);
    const cli = await runRotor({ ...stack, TEMPORAL_ADDRESS: addr }, 'watch', 'plaintext-probe');
    expect(cli.code, cli.stdout).not.toBe(0);
    expect(cli.stderr).toContain(refusal);
    expect(listener.seen).toMatchObject({ connections: 0, bytes: 0 });
  });

  it('a worker with a kubeconfig cluster over http, or with verification off, beyond loopback refuses to start; no byte reaches it', async () => {
    const http = `http://${host}:${listener.port}`;
    const overHttp = await refusedWorker('kube-http', { KUBECONFIG: kubeconfig('remote', { server: http }) });
    expect(overHttp).toContain(
      `kubeconfig cluster 'remote' server ${http} is plaintext http beyond this machine: tokens, client certificates and Secrets would travel in cleartext; use https://`,
    );
    const https = `https://${host}:${listener.port}`;
    const unverified = await refusedWorker('kube-skip-verify', {
      KUBECONFIG: kubeconfig('remote', { server: https, 'insecure-skip-tls-verify': true }),
    });
    expect(unverified).toContain(
      `kubeconfig cluster 'remote' (server ${https}) sets insecure-skip-tls-verify: rotor verifies every apiserver beyond this machine`,
    );
    expect(listener.seen).toMatchObject({ connections: 0, bytes: 0 });
  });

  it('a worker whose PostgreSQL admin connection beyond loopback has sslmode=disable refuses to start naming PGSSLMODE; no byte reaches it', async () => {
    const error = await refusedWorker('postgres-disable', {
      PGHOST: host,
      PGPORT: String(listener.port),
      PGSSLMODE: 'disable',
    });
    expect(error).toContain(
      `PGSSLMODE is disable for PostgreSQL at ${host}, beyond this machine: the credential would travel without verified TLS; set it to verify-full`,
    );
    expect(listener.seen).toMatchObject({ connections: 0, bytes: 0 });
  });

  it("sslmode=prefer beyond loopback is verified TLS: a server (or someone between) answering 'no TLS' gets the SSL request and never the admin user or password", async () => {
    // PostgreSQL's SSLRequest: length 8, code 80877103. A downgrading party answers 'N' (no TLS).
    const sslRequest = Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]);
    const downgrade = await wire(host, (s, d) => {
      if (d.equals(sslRequest)) s.write('N');
    });
    try {
      const password = `admin-password-${randomUUID()}`;
      const deps = credentialDepsFromEnv({
        ...stack,
        PGHOST: host,
        PGPORT: String(downgrade.port),
        PGUSER: 'rotor_admin_probe',
        PGPASSWORD: password,
        PGDATABASE: 'postgres',
        PGSSLMODE: 'prefer',
      });
      const kind = createCredentialKinds(deps)['postgres-alternating-users'];
      const policy = credentialSchema.parse({ kind: 'postgres-alternating-users', roles: ['app_a', 'app_b'] });
      if (policy.kind !== 'postgres-alternating-users') throw new Error('parsed another kind');
      const current = JSON.stringify({ username: 'app_a', password: 'p' });
      await expect(
        kind.create(policy, { currentValue: current, rotation: { workflowId: 'rotate/probe', runId: randomUUID() } }),
      ).rejects.toThrow(/does not support SSL/);
      const sent = Buffer.concat(downgrade.seen.data);
      expect(sent.equals(sslRequest)).toBe(true);
      expect(sent.includes('rotor_admin_probe')).toBe(false);
    } finally {
      await new Promise((r) => downgrade.server.close(r));
    }
  });

  it('the listener sees what rotor does send: a worker with an https:// Vault at the same address reaches it (its TLS hello)', async () => {
    const before = { ...listener.seen };
    // An unreachable or hanging-up Vault does not stop the worker (it may come back); a certificate that does not verify would.
    const worker = await startWorkerProcess({
      taskQueue: `plaintext-control-${randomUUID()}`,
      logFile: join(dir, 'control.log'),
      env: { VAULT_ADDR: `https://${host}:${listener.port}` },
    }).catch((e: Error) => e);
    if (!(worker instanceof Error)) await worker.stop();
    expect(listener.seen.connections).toBeGreaterThan(before.connections);
    expect(listener.seen.bytes).toBeGreaterThan(before.bytes);
  });
});
