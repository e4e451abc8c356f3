import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackPaths } from '../../dev/local-stack/config';
import { temporalBinary } from '../../dev/local-stack/services/temporal';
import { codecServerTokenFile, stackCodecEndpoint } from '../../dev/local-stack/keys';
import { ports } from '../../dev/local-stack/config';
import { loadKey } from '../../adapters/keys';
import { AesGcmCodec } from '../../adapters/temporal/codec';
import { createCodecServer, uiOrigins } from '../../workers/codec-server';
import type { JsonPayload } from '../../workers/codec-server';
import { connectClient } from '../../adapters/temporal/connection';
import { testPlaybook } from '../helpers/playbooks';
import { repoRoot } from '../helpers/entry-points';
import { useStackEnv } from '../helpers/stack-env';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput } from '../../core/status';

const env = useStackEnv();
const uiOrigin = env['TEMPORAL_UI_URL'] ?? 'http://127.0.0.1:8233';
const token = randomBytes(18).toString('base64url');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

/** A `/decode` request body: `json` (a JSON text) encrypted by `codec`, as the Temporal UI posts it. */
async function encryptedBody(codec: AesGcmCodec, json: string): Promise<{ payloads: JsonPayload[] }> {
  const [encoded] = await codec.encode([
    { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(json) },
  ]);
  return {
    payloads: [
      { metadata: { encoding: b64('binary/encrypted') }, data: Buffer.from(encoded?.data ?? []).toString('base64') },
    ],
  };
}

function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers },
    body: JSON.stringify(body),
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('codec server (in process)', () => {
  let server: Server;
  let base: string;
  const codec = new AesGcmCodec(loadKey('ROTOR_CODEC_KEY'));
  const plain: JsonPayload = {
    metadata: { encoding: b64('json/plain') },
    data: b64('{"version":"v7","fingerprint":"hmac:abc"}'),
  };
  const auth = { Authorization: `Bearer ${token}` };

  beforeAll(async () => {
    const port = await freePort();
    server = createCodecServer({
      codec,
      allowedOrigins: uiOrigins(uiOrigin),
      token,
      allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`],
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  it('encodes to binary/encrypted and decodes back to the same payload, also under a namespace prefix', async () => {
    const enc = await post(base, '/encode', { payloads: [plain] }, auth);
    expect(enc.status).toBe(200);
    const encoded = ((await enc.json()) as { payloads: JsonPayload[] }).payloads;
    expect(encoded).toHaveLength(1);
    expect(text(encoded[0]?.metadata?.['encoding'])).toBe('binary/encrypted');
    expect(text(encoded[0]?.data).includes('hmac:abc')).toBe(false);

    for (const path of ['/decode', '/default/decode']) {
      const dec = await post(base, path, { payloads: encoded }, auth);
      expect(dec.status).toBe(200);
      expect(((await dec.json()) as { payloads: JsonPayload[] }).payloads).toEqual([plain]);
    }
    // What the SDK encrypted, the server decrypts: same codec, same key.
    const dec = await post(base, '/decode', await encryptedBody(codec, '"from-sdk"'), auth);
    expect(text(((await dec.json()) as { payloads: JsonPayload[] }).payloads[0]?.data)).toBe('"from-sdk"');
  });

  it('answers 401 without the bearer token or with a wrong one, and reveals nothing', async () => {
    const body = await encryptedBody(codec, '"secret-ish"');
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: token },
      { Authorization: `Basic ${b64(`x:${token}`)}` },
    ];
    for (const headers of attempts) {
      for (const path of ['/decode', '/encode']) {
        const res = await post(base, path, body, headers);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect((await res.text()).includes('secret-ish')).toBe(false);
      }
    }
  });

  it("answers the UI origin's CORS preflight without a token, and only for the UI origin", async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/decode`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type,x-namespace,authorization',
        },
      });
    const ok = await preflight(uiOrigin);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = (ok.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['content-type', 'x-namespace', 'authorization']) expect(allowed).toContain(h);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    // The loopback twin of the UI origin (localhost vs 127.0.0.1) is the same UI.
    const twin = uiOrigins(uiOrigin).find((o) => o !== uiOrigin) ?? uiOrigin;
    expect((await preflight(twin)).headers.get('access-control-allow-origin')).toBe(twin);

    const evil = await preflight('http://evil.example');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();

    // Actual responses carry the header too, so the UI can read a 401 and ask for a token.
    const res = await post(base, '/decode', { payloads: [] }, { Origin: uiOrigin });
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(uiOrigin);
  });

  it('takes the token as the endpoint path /t/<token>, as the Temporal UI sends it, and refuses a wrong one', async () => {
    const body = await encryptedBody(codec, '"via-path"');
    const ok = await post(base, `/t/${token}/decode`, body, { Origin: uiOrigin });
    expect(ok.status).toBe(200);
    expect(text(((await ok.json()) as { payloads: JsonPayload[] }).payloads[0]?.data)).toBe('"via-path"');
    for (const path of [`/t/${token}x/decode`, '/t//decode', `/${token}/decode`, `/t/${token.slice(1)}/decode`]) {
      const res = await post(base, path, body);
      expect(res.status, path).toBe(401);
      expect((await res.text()).includes('via-path')).toBe(false);
    }
  });

  it('refuses a request from another origin (403) and a request for another Host (421) before the token counts', async () => {
    const evil = await post(base, `/t/${token}/decode`, { payloads: [] }, { Origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(await evil.text()).toContain('origin http://evil.example is not allowed');
    // DNS rebinding: a page of rebound.example reaches 127.0.0.1 under its own name, so Host names it.
    const { request } = await import('node:http');
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${base}/t/${token}/decode`,
        { method: 'POST', headers: { Host: 'rebound.example:80', 'Content-Type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ payloads: [] }));
    });
    expect(rebound.status).toBe(421);
    expect(rebound.body).toContain("Host 'rebound.example:80' is not served here");
  });

  it('rejects what is not the codec protocol: 404, 405, 400', async () => {
    expect((await post(base, '/nope', { payloads: [] }, auth)).status).toBe(404);
    expect((await fetch(`${base}/decode`, { headers: auth })).status).toBe(405);
    expect((await post(base, '/decode', { nothing: true }, auth)).status).toBe(400);
    const res = await post(base, '/decode', await encryptedBody(new AesGcmCodec(randomBytes(32)), '"x"'), auth);
    expect(res.status).toBe(400);
  });
});

// The stack's own temporal CLI (the stack installed it; cached, so this does not build).
const temporalCli = await temporalBinary({ paths: stackPaths(), log: () => undefined });

describe('codec server entry point with the temporal CLI', () => {
  let proc: ChildProcess | undefined;
  let endpoint: string;
  let stderr = '';

  beforeAll(async () => {
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    proc = spawn(process.execPath, ['--import', 'tsx', 'workers/codec-server-main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, ...env, ROTOR_CODEC_PORT: String(port), ROTOR_CODEC_SERVER_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('listening on')) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`codec server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => {
    proc?.kill('SIGTERM');
  });

  it('starts from the environment (key file, token, port) and logs that a token is required', async () => {
    expect(stderr).toContain('token required');
    expect(stderr.includes(token)).toBe(false);
    expect((await post(endpoint, '/decode', { payloads: [] })).status).toBe(401);
    expect((await post(endpoint, '/decode', { payloads: [] }, { Authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it("lets `temporal workflow show` decode a rotation's encrypted input with the token", async () => {
    const client = await connectClient();
    const playbook = testPlaybook({ type: 'aws', secretId: `codec-cli/${randomUUID()}` });
    const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'codec-server-test' };
    // No worker polls this queue: the started event alone holds an encrypted input to decode.
    const h = await client.workflow.start('rotationWorkflow', {
      taskQueue: `codec-cli-${randomUUID()}`,
      workflowId: rotationWorkflowId(playbook.spec.secret.name),
      args: [input],
    });
    const show = (...extra: string[]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(
          temporalCli,
          [
            'workflow',
            'show',
            '-w',
            h.workflowId,
            '--address',
            env['TEMPORAL_ADDRESS'] ?? '127.0.0.1:7233',
            '-o',
            'json',
            ...extra,
          ],
          { timeout: 30_000 },
          (err, stdout, stderrText) => resolve({ code: err ? 1 : 0, out: stdout, err: stderrText }),
        );
      });
    /** The started event's input payload as the CLI printed it: encoding and data text. */
    const startedInput = (out: string) => {
      try {
        const events = (
          JSON.parse(out) as {
            events: { workflowExecutionStartedEventAttributes?: { input?: { payloads?: JsonPayload[] } } }[];
          }
        ).events;
        const p = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
        return { encoding: text(p?.metadata?.['encoding']), data: text(p?.data) };
      } catch {
        return undefined;
      }
    };
    try {
      const encrypted = startedInput((await show()).out);
      expect(encrypted?.encoding).toBe('binary/encrypted');
      expect(encrypted?.data.includes('codec-server-test')).toBe(false);

      const decoded = await show('--codec-endpoint', endpoint, '--codec-auth', `Bearer ${token}`);
      expect(decoded.code).toBe(0);
      const shown = startedInput(decoded.out);
      expect(shown?.encoding).toBe('json/plain');
      expect((JSON.parse(shown?.data ?? '{}') as RotationInput).requestedBy).toBe('codec-server-test');

      // Without the token the CLI gets 401s, retries them until its 10s deadline and fails (checked by
      // hand; left out here because it costs those 10s). The HTTP-level 401 tests above cover the gate.
    } finally {
      await h.terminate('codec server test done');
      await client.connection.close();
    }
  });
});

describe("the stack's codec service (dev/stack up starts it for the Temporal UI)", () => {
  const paths = stackPaths();
  const stackToken = readFileSync(codecServerTokenFile(paths), 'utf8').trim();
  const base = `http://127.0.0.1:${ports.codecServer}`;

  it('is the endpoint the stack gave the UI, and decodes there with the token in the path', async () => {
    const settings = (await (await fetch(`${uiOrigin}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    expect(settings.Codec?.Endpoint).toBe(stackCodecEndpoint(paths));
    const body = await encryptedBody(new AesGcmCodec(loadKey('ROTOR_CODEC_KEY', env)), '"stack-codec"');
    const res = await post(stackCodecEndpoint(paths), '/decode', body, { Origin: uiOrigin });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(text(((await res.json()) as { payloads: JsonPayload[] }).payloads[0]?.data)).toBe('"stack-codec"');
  });

  it('refuses a request without the token, with a wrong one, and from another origin', async () => {
    expect((await post(base, '/decode', { payloads: [] })).status).toBe(401);
    expect((await post(base, '/t/not-the-token-at-all/decode', { payloads: [] })).status).toBe(401);
    const other = await post(base, `/t/${stackToken}/decode`, { payloads: [] }, { Origin: 'http://127.0.0.1:9999' });
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
