import { describe, expect, it } from 'vitest';
import { redact } from '../../adapters/redact';

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
