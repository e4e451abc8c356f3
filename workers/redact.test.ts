import { describe, expect, it } from 'vitest';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { redact, redactTail } from '../adapters/redact';
import { holdSecret } from '../adapters/secret-scope';
import { RedactingActivityInbound } from './redacting-interceptor';

const secret = 'S3cr3t-Value_0123456789';
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('redact', () => {
  it.each([
    ['plain', `login failed for ${secret}`],
    ['URL-encoded', `GET /x?token=${encodeURIComponent(secret)}`],
    ['hex', `key=${Buffer.from(secret).toString('hex')}`],
    ['base64', `token ${b64(secret)}`],
    ['base64url', `token ${Buffer.from(secret).toString('base64url')}`],
    ['base64 at an offset (Basic auth)', `Authorization: Basic ${b64(`user:${secret}`)}`],
  ])('removes the %s form', (_name, text) => {
    const out = redact(text, [secret]);
    expect(out).toContain('[redacted]');
    expect(out.includes(secret)).toBe(false);
    expect(Buffer.from(out).includes(Buffer.from(secret))).toBe(false);
  });

  it('leaves unrelated text and tokens alone', () => {
    const text = `upstream said 403 Forbidden; request id ${b64('unrelated-request-id')}`;
    expect(redact(text, [secret])).toBe(text);
  });
});

describe('redact: JSON credentials, every encoding, every alignment', () => {
  const password = 'pw-Gx7_q9Lm2ZtR4vKd';
  const secretAccessKey = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY';
  const pg = JSON.stringify({ username: 'rotor_app_a', password });
  const iam = JSON.stringify({ accessKeyId: 'AKIAEXAMPLE0000', secretAccessKey });
  const hex = (s: string) => Buffer.from(s).toString('hex');
  const forms = (v: string): [string, string][] => [
    ['raw', v],
    ['hex', hex(v)],
    ['HEX', hex(v).toUpperCase()],
    ['JSON-escaped', JSON.stringify(v).slice(1, -1)],
    ['URL-encoded', encodeURIComponent(v)],
    ['url-encoded lower case', encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())],
    ...[0, 1, 2].flatMap((pad): [string, string][] => [
      [`base64 at offset ${pad}`, Buffer.from(`${'x'.repeat(pad)}${v}`).toString('base64')],
      [`base64url at offset ${pad}`, Buffer.from(`${'x'.repeat(pad)}${v}`).toString('base64url')],
      // Inside a longer base64-looking run, starting mid-group.
      [
        `base64 inside a longer run, offset ${pad}`,
        `QUJD${Buffer.from(`${'y'.repeat(7 + pad)}${v}zz`).toString('base64')}`,
      ],
    ]),
  ];

  /** Whether any trace of `v` survives in `out` in any of the forms above. */
  const leaks = (out: string, v: string) =>
    forms(v).some(([, f]) => out.includes(f)) ||
    out.toLowerCase().includes(hex(v)) ||
    [0, 1, 2, 3].some((skip) =>
      Buffer.from(out.replace(/[^A-Za-z0-9+/]/g, '').slice(skip), 'base64').includes(Buffer.from(v)),
    );

  it.each([
    ['password of a PostgreSQL credential', pg, password],
    ['secretAccessKey of an IAM key', iam, secretAccessKey],
    ['the JSON credential itself', pg, pg],
  ])('hides the %s printed alone, in every form', (_what, credential, field) => {
    for (const [form, text] of forms(field)) {
      const out = redact(`hook said: ${text} (done)`, [credential]);
      expect(out, form).toContain('[redacted]');
      expect(leaks(out, field), `${form}: ${out}`).toBe(false);
    }
  });

  it('hides a JSON credential embedded JSON-escaped in another JSON document', () => {
    const out = redact(JSON.stringify({ log: `got ${iam}` }), [iam]);
    expect(out.includes(secretAccessKey)).toBe(false);
    expect(out.includes(JSON.stringify(secretAccessKey).slice(1, -1))).toBe(false);
  });

  it('redacts before cutting: a secret split by the cut leaves nothing behind', () => {
    const secret = 'Zq8-Vt3_Lp0-Ws6_Kd2';
    const text = `${'a'.repeat(480)} token=${secret} tail`;
    for (let max = 1; max < 40; max++) {
      const out = redactTail(text, [secret], max);
      // No 4-character piece of the secret remains.
      for (let i = 0; i + 4 <= secret.length; i++) expect(out.includes(secret.slice(i, i + 4)), out).toBe(false);
    }
  });

  it('drops what a source-side cut may have split', () => {
    const secret = 'Zq8-Vt3_Lp0-Ws6_Kd2';
    const head = `${secret.slice(9)} and then the rest of the log`;
    expect(redactTail(head, [secret], 500, 'start')).not.toContain(secret.slice(9, 14));
    const tail = `log line one ${secret.slice(0, 9)}`;
    expect(redactTail(tail, [secret], 500, 'end')).not.toContain(secret.slice(0, 5));
  });
});

describe('activity errors are redacted whatever adapter threw them', () => {
  it('the interceptor redacts held values from message, stack and cause', async () => {
    const secret = 'kube-echoed-Secret-value-123';
    const inbound = new RedactingActivityInbound();
    const thrown = (await inbound
      .execute({} as ActivityExecuteInput, () => {
        holdSecret(secret);
        const cause = new Error(`HTTP 422: data[value]: Invalid value: ${Buffer.from(secret).toString('base64')}`);
        return Promise.reject(new Error(`cluster-a: the API server refused to create Secret: ${secret}`, { cause }));
      })
      .catch((e: unknown) => e)) as Error;
    expect(thrown.message).toBe('cluster-a: the API server refused to create Secret: [redacted]');
    expect(thrown.stack?.includes(secret)).toBe(false);
    expect((thrown.cause as Error).message).toBe('HTTP 422: data[value]: Invalid value: [redacted]');
  });

  it('values held by one activity execution are not held by another', async () => {
    const inbound = new RedactingActivityInbound();
    await inbound.execute({} as ActivityExecuteInput, () => Promise.resolve(holdSecret('first-run-secret')));
    const e = (await inbound
      .execute({} as ActivityExecuteInput, () => Promise.reject(new Error('first-run-secret appears by chance')))
      .catch((x: unknown) => x)) as Error;
    expect(e.message).toBe('first-run-secret appears by chance');
  });
});
