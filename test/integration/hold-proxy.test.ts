/**
 * The hold proxy the kill tests stand on (test/helpers/hold-proxy.ts), against the stack's moto,
 * which closes every connection after its answer: while the answer is held the client must hear
 * nothing — no answer and no close, or it would send the request again around the hold (a
 * durability run once finished its "killed" create that way before the kill landed).
 */
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { holdProxy } from '../helpers/hold-proxy';
import type { HoldProxy } from '../helpers/hold-proxy';
import { useStackEnv } from '../helpers/stack-env';

const env = useStackEnv();

interface Heard {
  response?: IncomingMessage;
  body: string;
  closed: boolean;
  error?: Error;
}

/** A GET through `url` on its own connection, and what its client has heard so far. */
function get(url: string): { heard: Heard; done: Promise<void> } {
  const heard: Heard = { body: '', closed: false };
  const done = new Promise<void>((resolve) => {
    const req = request(`${url}/moto-api/data.json`, { agent: false }, (res) => {
      heard.response = res;
      res.setEncoding('utf8');
      res.on('data', (d: string) => (heard.body += d));
      res.on('end', () => resolve());
    });
    req.on('close', () => {
      heard.closed = true;
      resolve();
    });
    req.on('error', (e) => {
      heard.error = e;
      resolve();
    });
    req.end();
  });
  return { heard, done };
}

describe('hold proxy', () => {
  let proxy: HoldProxy | undefined;
  afterEach(() => proxy?.close());

  it("holds moto's answer and its close until released, then delivers both", async () => {
    proxy = await holdProxy(env['AWS_ENDPOINT_URL'] ?? '');
    const held = proxy.holdResponseTo(/^GET \/moto-api\/data\.json/m);
    const { heard, done } = get(proxy.url);
    await held;
    // moto has answered and closed its side; the client is still waiting.
    await new Promise((r) => setTimeout(r, 500));
    expect(heard).toEqual({ body: '', closed: false });
    proxy.release();
    await done;
    expect(heard.error).toBeUndefined();
    expect(heard.response?.statusCode).toBe(200);
    expect(JSON.parse(heard.body)).toBeTypeOf('object');
  });

  it('passes answers and closes straight through when nothing is armed', async () => {
    proxy = await holdProxy(env['AWS_ENDPOINT_URL'] ?? '');
    const { heard, done } = get(proxy.url);
    await done;
    expect(heard.error).toBeUndefined();
    expect(heard.response?.statusCode).toBe(200);
  });
});
