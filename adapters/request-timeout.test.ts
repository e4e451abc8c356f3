import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BoundedKubeConfig } from './kubernetes/bounded-kubeconfig';
import { kubeFailure } from './kubernetes/errors';
import { awsRequestBounds, defaultRequestTimeoutMs, requestTimeoutMs } from './request-timeout';
import { vaultFailure, vaultFromEnv } from './vault-client';

/** A backend that accepts connections, reads what is sent, and never answers. */
let silent: Server;
let silentUrl: string;
const sockets = new Set<Socket>();
beforeAll(async () => {
  silent = createServer((s) => {
    sockets.add(s);
    s.on('data', () => undefined).on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const address = silent.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  silentUrl = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

const saved = process.env['ROTOR_REQUEST_TIMEOUT_MS'];
afterEach(() => {
  if (saved === undefined) delete process.env['ROTOR_REQUEST_TIMEOUT_MS'];
  else process.env['ROTOR_REQUEST_TIMEOUT_MS'] = saved;
});

/** How long `p` took to settle, and its rejection. */
async function settle(p: Promise<unknown>): Promise<{ ms: number; error: Error | undefined }> {
  const started = Date.now();
  const error = await p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  return { ms: Date.now() - started, error };
}

describe('requestTimeoutMs', () => {
  it('is 15 s unless ROTOR_REQUEST_TIMEOUT_MS says otherwise', () => {
    expect(requestTimeoutMs({})).toBe(defaultRequestTimeoutMs);
    expect(defaultRequestTimeoutMs).toBe(15_000);
    expect(requestTimeoutMs({ ROTOR_REQUEST_TIMEOUT_MS: '2500' })).toBe(2500);
  });

  it.each(['0', '15s', '1.5', '-1', '600001'])(
    'refuses %s, naming the variable, rather than turn the bound off',
    (v) => {
      expect(() => requestTimeoutMs({ ROTOR_REQUEST_TIMEOUT_MS: v })).toThrow(
        `ROTOR_REQUEST_TIMEOUT_MS=${v} is not a whole number of milliseconds between 100 and 600000; unset it for the default 15000`,
      );
    },
  );
});

// Each client meets a server that never answers: without a bound it would wait for good.
describe('a backend that never answers fails the request after the bound, retryable and saying so', () => {
  it('Vault', async () => {
    const vault = vaultFromEnv({ VAULT_ADDR: silentUrl, VAULT_TOKEN: 'not-a-secret', ROTOR_REQUEST_TIMEOUT_MS: '300' });
    const { ms, error } = await settle(vault.read('secret/metadata/app'));
    expect(error?.message).toBe(
      `no answer from Vault at ${silentUrl} within 0.3 s (ROTOR_REQUEST_TIMEOUT_MS); it is tried again`,
    );
    expect(ms).toBeGreaterThanOrEqual(290);
    const f = vaultFailure(error, 'vault secret/app', 'read metadata', {
      statuses: [],
      failure: () => {
        throw new Error('not a 404');
      },
    }) as ApplicationFailure;
    expect({ type: f.type, nonRetryable: f.nonRetryable, message: f.message }).toEqual({
      type: 'VaultError',
      nonRetryable: false,
      message: `vault secret/app: failed to read metadata: no answer from Vault at ${silentUrl} within 0.3 s (ROTOR_REQUEST_TIMEOUT_MS); it is tried again`,
    });
  });

  it('a Kubernetes apiserver', async () => {
    process.env['ROTOR_REQUEST_TIMEOUT_MS'] = '300';
    const kc = new BoundedKubeConfig();
    kc.loadFromOptions({
      // Plaintext needs skipTLSVerify in client-node; loopback only, as rotor allows.
      clusters: [{ name: 'silent', server: silentUrl, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'not-a-secret' }],
      contexts: [{ name: 'silent', cluster: 'silent', user: 'u' }],
      currentContext: 'silent',
    });
    const { ms, error } = await settle(kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'app' }));
    expect(ms).toBeGreaterThanOrEqual(290);
    const f = kubeFailure(error, 'cluster silent', 'list', 'pods in namespace app') as ApplicationFailure;
    expect({ type: f.type, nonRetryable: f.nonRetryable, message: f.message }).toEqual({
      type: 'KubernetesError',
      nonRetryable: false,
      message: `cluster silent: failed to list pods in namespace app: no answer from the apiserver at ${silentUrl} within 0.3 s (ROTOR_REQUEST_TIMEOUT_MS); it is tried again`,
    });
  });

  it('AWS Secrets Manager', async () => {
    const sm = new SecretsManagerClient({
      endpoint: silentUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
      maxAttempts: 1,
      ...awsRequestBounds({ ROTOR_REQUEST_TIMEOUT_MS: '300' }),
    });
    const { ms, error } = await settle(sm.send(new GetSecretValueCommand({ SecretId: 'app' })));
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(10_000);
    expect({ name: error?.name, message: error?.message }).toEqual({
      name: 'TimeoutError',
      message: expect.stringContaining('300 ms') as unknown,
    });
    sm.destroy();
  });
});
