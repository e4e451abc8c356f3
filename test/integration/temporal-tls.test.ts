/**
 * rotor's Temporal connections over TLS, mTLS and API keys, configured only through the Temporal
 * SDK's environment configuration (TEMPORAL_* variables, temporal.toml profiles). `temporal server
 * start-dev` has no TLS, so a TLS-terminating front (dev/local-stack/tls-front.ts, the same one the
 * stack runs) stands before the stack's plaintext frontend with a CA made here. The API key is
 * checked at a TLS HTTP/2 server that records request headers: gRPC metadata travels inside HTTP/2
 * frames, which a TCP front cannot read.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import type { Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { PlaybookInput } from '../../core/playbook/schema';
import { connectClient } from '../../adapters/temporal/connection';
import { connectWorker } from '../../workers/worker';
import { startTlsFront } from '../../dev/local-stack/tls-front';
import { ensureLoopbackPki, loopbackPki } from '../../dev/local-stack/pki';
import type { LoopbackPki } from '../../dev/local-stack/pki';
import { rotationWorkflowId } from '../../core/ids';
import { statusQuery } from '../../workflows/definitions';
import { useStackEnv } from '../helpers/stack-env';
import { ports, stackPaths } from '../../dev/local-stack/config';
import { temporalEndpoint } from '../../adapters/temporal/envconfig';
import { temporalTlsFiles } from '../../dev/local-stack/services/temporal-tls';
import { awsTestStore } from '../helpers/stores';
import { runRotor } from '../helpers/cli';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

const stack = useStackEnv();
let dir: string;
let pki: LoopbackPki;
let other: LoopbackPki;
let front: { server: Server; port: number };
let handshakes = 0;
let worker: WorkerProcess | undefined;
const taskQueue = `tls-${randomUUID()}`;

/** The environment of a process that reaches Temporal only through the mTLS front. */
function mtlsEnv(over: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...stack,
    ROTOR_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: `127.0.0.1:${front.port}`,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.ca.cert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.client.cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.client.key,
    ...over,
  };
}

function without(env: NodeJS.ProcessEnv, ...names: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !names.includes(k)));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rotor-temporal-tls-'));
  pki = await ensureLoopbackPki(join(dir, 'pki'), 'rotor-test-temporal-ca', 'rotor-test-worker');
  other = await ensureLoopbackPki(join(dir, 'other'), 'rotor-test-other-ca', 'rotor-test-stranger');
  front = await startTlsFront({
    port: 0,
    target: stack['TEMPORAL_ADDRESS'] ?? '127.0.0.1:7233',
    server: pki.server,
    clientCa: pki.ca.cert,
  });
  front.server.on('secureConnection', () => handshakes++);
});

afterAll(async () => {
  await worker?.stop();
  front.server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('Temporal over mTLS (envconfig variables and temporal.toml)', () => {
  it('a worker and the CLI that reach Temporal only through the mTLS front run a rotation', async () => {
    worker = await startWorkerProcess({
      taskQueue,
      logFile: join(dir, 'worker.log'),
      env: without(mtlsEnv(), 'ROTOR_TASK_QUEUE') as Record<string, string>,
    });
    const started = (await readFile(join(dir, 'worker.log'), 'utf8'))
      .split('\n')
      .find((l) => l.includes('rotor worker started'));
    expect(started).toContain(`127.0.0.1:${front.port} (namespace default; TLS, CA from config, client certificate)`);
    const workerHandshakes = handshakes;
    expect(workerHandshakes).toBeGreaterThan(0);

    const ts = await awsTestStore('tls-initial-value-0123456789');
    const before = await ts.snapshot();
    const doc = parse(await readFile('playbooks/aws-api-key.yaml', 'utf8')) as PlaybookInput;
    const secret = `tls-${randomUUID().slice(0, 8)}`;
    doc.metadata.name = secret;
    doc.spec.secret = { name: secret, store: ts.store };
    const file = join(dir, `${secret}.yaml`);
    await writeFile(file, stringify(doc));
    const r = await runRotor(mtlsEnv(), 'rotate', file, '--wait', '--reason', 'temporal tls test');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`✔ rotated ${secret}`);
    expect((await ts.snapshot()).previousVersion).toBe(before.currentVersion);
    expect(handshakes).toBeGreaterThan(workerHandshakes);

    // The same endpoint as a temporal.toml profile, the way the Temporal CLI reads it.
    const toml = join(dir, 'temporal.toml');
    await writeFile(
      toml,
      [
        '[profile.rotor-tls]',
        `address = "127.0.0.1:${front.port}"`,
        '[profile.rotor-tls.tls]',
        `server_ca_cert_path = "${pki.ca.cert}"`,
        `client_cert_path = "${pki.client.cert}"`,
        `client_key_path = "${pki.client.key}"`,
        '',
      ].join('\n'),
    );
    const profileEnv = {
      ...without(mtlsEnv(), 'TEMPORAL_ADDRESS', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_PROFILE: 'rotor-tls',
    };
    const viaProfile = without(profileEnv, 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH');
    const client = await connectClient(viaProfile);
    try {
      const status = await client.workflow.getHandle(rotationWorkflowId(secret)).query(statusQuery);
      expect(status.phase).toBe('rotated');
    } finally {
      await client.connection.close();
    }
  });

  it('refuses a server whose certificate is not signed by the configured CA', async () => {
    const wrongCa = mtlsEnv({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: other.ca.cert });
    await expect(connectClient(wrongCa)).rejects.toThrow(
      new RegExp(
        `rotor cannot reach Temporal at 127\\.0\\.0\\.1:${front.port} \\(namespace default; TLS.*\\): ` +
          '.*TLS handshake: self-signed certificate in certificate chain',
      ),
    );
    await expect(connectWorker(wrongCa)).rejects.toThrow(/worker cannot reach Temporal at .*UnknownIssuer/);
  });

  it('mTLS: refuses a client without a certificate, or with one from another CA', async () => {
    const noCert = without(mtlsEnv(), 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH');
    await expect(connectClient(noCert)).rejects.toThrow(
      /rotor cannot reach Temporal at .*TLS, CA from config\).*TLS handshake: tlsv13 alert certificate required\./,
    );
    await expect(connectWorker(noCert)).rejects.toThrow(
      /worker cannot reach Temporal at .*TLS handshake: tlsv13 alert certificate required\./,
    );
    const stranger = mtlsEnv({
      TEMPORAL_TLS_CLIENT_CERT_PATH: other.client.cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: other.client.key,
    });
    await expect(connectClient(stranger)).rejects.toThrow(
      /rotor cannot reach Temporal at .*TLS handshake: the server closed the connection at once; it does not accept the client certificate/,
    );
  });

  it('a worker with a missing certificate file stops at startup naming the variable', async () => {
    const missing = join(dir, 'missing.crt');
    await expect(
      startWorkerProcess({
        taskQueue,
        logFile: join(dir, 'bad-worker.log'),
        env: without(mtlsEnv({ TEMPORAL_TLS_CLIENT_CERT_PATH: missing }), 'ROTOR_TASK_QUEUE') as Record<string, string>,
        startTimeoutMs: 60_000,
      }),
    ).rejects.toThrow(`TEMPORAL_TLS_CLIENT_CERT_PATH names ${missing}, which cannot be read`);
  });
});

describe("the stack's temporal-tls service", () => {
  it('serves Temporal over mTLS with the profile `dev/stack env` names, and refuses a client without a certificate', async () => {
    const f = temporalTlsFiles(stackPaths());
    const env = {
      ...without(process.env, 'TEMPORAL_ADDRESS'),
      TEMPORAL_CONFIG_FILE: f.configFile,
      TEMPORAL_PROFILE: f.profile,
    };
    expect(temporalEndpoint(env).address).toBe(`127.0.0.1:${ports.temporalTls}`);
    const client = await connectClient(env);
    try {
      const info = await client.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
    } finally {
      await client.connection.close();
    }
    const noCert = {
      ...process.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporalTls}`,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: loopbackPki(f.dir).ca.cert,
    };
    await expect(connectClient(noCert)).rejects.toThrow(/TLS handshake: tlsv13 alert certificate required/);
  });
});

describe('Temporal API keys', () => {
  let h2: Http2SecureServer;
  const seen: { authorization?: string; path?: string }[] = [];

  beforeAll(async () => {
    // Answers every call UNAUTHENTICATED (grpc-status 16) after noting who asked.
    h2 = createSecureServer({ cert: readFileSync(pki.server.cert), key: readFileSync(pki.server.key) });
    h2.on('stream', (stream, headers) => {
      seen.push({ authorization: headers['authorization'], path: headers[':path'] });
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'bad key' },
        { endStream: true },
      );
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  });
  afterAll(() => void h2.close());

  it('the CLI and the worker send TEMPORAL_API_KEY as a bearer token, over TLS without TEMPORAL_TLS', async () => {
    const env = {
      ...stack,
      HOME: dir,
      TEMPORAL_ADDRESS: `127.0.0.1:${(h2.address() as AddressInfo).port}`,
      TEMPORAL_API_KEY: 'rotor-test-api-key',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.ca.cert,
    };
    await expect(connectClient(env)).rejects.toThrow(
      /rotor cannot reach Temporal at .*TLS.*API key.*16 UNAUTHENTICATED: bad key/,
    );
    const fromClient = seen.length;
    expect(fromClient).toBeGreaterThan(0);
    await expect(connectWorker(env)).rejects.toThrow(/worker cannot reach Temporal at .*API key.*bad key/);
    expect(seen.length).toBeGreaterThan(fromClient);
    for (const s of seen) {
      expect(s.authorization).toBe('Bearer rotor-test-api-key');
      expect(s.path).toMatch(/^\/temporal\.api\.workflowservice\.v1\.WorkflowService\//);
    }
  });
});
