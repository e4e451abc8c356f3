import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedLookup } from '../guarded-http';
import { runCanaryCheck, scrubbedEnv } from '.';
import type { Canary } from '../../core/playbook/schema';
import { canarySchema } from '../../core/playbook/schema';

const credential = 'cred-0123456789abcdef';
const never = new AbortController().signal;
const canary = (c: Record<string, unknown>): Canary => canarySchema.parse({ name: 'c', ...c });

describe('command canaries', () => {
  it("run without the worker's identities, the credential on stdin only", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { VAULT_TOKEN: 'vt', AWS_SECRET_ACCESS_KEY: 'ak', PGPASSWORD: 'pp', EXTRA_OK: 'x' });
    try {
      expect(Object.keys(scrubbedEnv(['EXTRA_OK'])).sort()).toEqual(
        ['EXTRA_OK', 'HOME', 'LANG', 'PATH', 'TZ'].filter((k) => process.env[k] !== undefined),
      );
      const script = `test -z "$VAULT_TOKEN$AWS_SECRET_ACCESS_KEY$PGPASSWORD$ROTOR_FINGERPRINT_KEY_FILE" && test "$EXTRA_OK" = x && test "$(cat)" = ${credential}`;
      const ok = await runCanaryCheck(canary({ type: 'command', command: ['sh', '-c', script] }), credential, never, {
        commandEnv: ['EXTRA_OK'],
      });
      expect(ok).toEqual({ ok: true, detail: 'exit 0' });
      const leaked = await runCanaryCheck(
        canary({ type: 'command', command: ['sh', '-c', 'test -n "$VAULT_TOKEN"'] }),
        credential,
        never,
      );
      expect(leaked.ok).toBe(false);
    } finally {
      process.env = saved;
    }
  });
});

describe('http canaries', () => {
  const seen: { path: string; auth: string | undefined }[] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    if (req.url === '/redirect') res.writeHead(302, { location: '/target' }).end();
    else res.writeHead(200).end('ok');
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => void server.close());

  it('do not follow redirects with the credential', async () => {
    const out = await runCanaryCheck(canary({ type: 'http', url: `${base}/redirect` }), credential, never);
    expect(out.ok).toBe(false);
    expect(out.detail).toMatch(/answered 302, expected 200 \(a redirect to \/target; rotor does not follow redirects/);
    expect(seen.map((s) => s.path)).toEqual(['/redirect']);
    const direct = await runCanaryCheck(canary({ type: 'http', url: `${base}/target` }), credential, never);
    expect(direct).toEqual({ ok: true, detail: 'HTTP 200' });
    expect(seen[1]?.auth).toBe(`Bearer ${credential}`);
  });

  it('refuse link-local and metadata addresses, literal or resolved', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'https://[fe80::1]/',
      'http://[::ffff:169.254.169.254]/',
    ]) {
      const out = await runCanaryCheck(canary({ type: 'http', url }), credential, never);
      expect(out.ok).toBe(false);
      expect(out.detail).toMatch(/is a link-local or metadata address; canaries may not call it/);
    }
    // A name is checked on every address it resolves to, at connect time.
    const lookup = guardedLookup((_h, _o, cb) =>
      cb(null, [
        { address: '10.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ]),
    );
    const err = await new Promise<Error | null>((r) => lookup('rebind.example', { all: false }, (e) => r(e)));
    expect(err?.message).toBe(
      'rebind.example resolves to 169.254.169.254, a link-local or metadata address; canaries may not call it',
    );
  });
});
