import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { isThrottling } from '../core/incident/throttling';
import type NodeVault from 'node-vault';
import { retryingThrottled, vaultFailure } from './vault-client';

/** A node-vault error as it throws one: the body's first error as message, the status beside it. */
function vaultError(statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { response: { statusCode, body: { errors: [message] } } });
}

const notFound = { statuses: [404], failure: (m: string) => ApplicationFailure.nonRetryable(m, 'SecretNotFound') };

describe('vaultFailure', () => {
  it("says a rate-limit quota's 429 is BackendThrottled, in the words an incident matches, and retries it", () => {
    const quota = vaultError(429, 'request path "kv/data/x": rate limit quota exceeded');
    // Vault's own words alone would not tell an incident the backend throttled.
    expect(isThrottling(quota.message)).toBe(false);
    const f = vaultFailure(quota, 'vault kv/x', 'read metadata', notFound) as ApplicationFailure;
    // No Retry-After (node-vault keeps no headers): the workflow's own back-off applies.
    expect({ type: f.type, nonRetryable: f.nonRetryable, details: f.details }).toEqual({
      type: 'BackendThrottled',
      nonRetryable: false,
      details: [{ jitter: expect.any(Number) as unknown }],
    });
    expect(f.message).toBe(
      'vault kv/x: throttled while trying to read metadata (HTTP 429 Too Many Requests: request path "kv/data/x": rate limit quota exceeded); retried with back-off',
    );
    expect(isThrottling(f.message)).toBe(true);
  });

  it('leaves other transient errors unthrottled', () => {
    const f = vaultFailure(vaultError(503, 'Vault is sealed'), 'vault kv/x', 'read metadata', notFound);
    expect(isThrottling(f.message)).toBe(false);
  });
});

describe('retryingThrottled', () => {
  /** A client whose requests answer with `statuses` in turn (200: the request's path back). */
  function answering(statuses: number[]) {
    const seen: string[] = [];
    const client = {
      request: (o: { path: string }) => {
        seen.push(o.path);
        const status = statuses.shift() ?? 200;
        return status === 200 ? Promise.resolve({ path: o.path }) : Promise.reject(vaultError(status, 'quota'));
      },
    };
    const waits: number[] = [];
    const wrapped = retryingThrottled(client as unknown as NodeVault.client, (ms) => {
      waits.push(ms);
      return Promise.resolve();
    });
    return { wrapped, seen, waits };
  }

  it('tries a 429 again on the spot, with jittered waits from 100 ms doubling, and returns the answer', async () => {
    const { wrapped, seen, waits } = answering([429, 429, 200]);
    await expect(wrapped.request({ path: '/kv/data/x', method: 'GET' })).resolves.toEqual({ path: '/kv/data/x' });
    expect(seen).toEqual(['/kv/data/x', '/kv/data/x', '/kv/data/x']);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(50);
    expect(waits[0]).toBeLessThanOrEqual(100);
    expect(waits[1]).toBeGreaterThanOrEqual(100);
    expect(waits[1]).toBeLessThanOrEqual(200);
  });

  it('gives the 429 to the step after 6 tries, having waited longer than a 1 s quota interval, and does not retry other errors', async () => {
    const throttled = answering([429, 429, 429, 429, 429, 429, 200]);
    await expect(throttled.wrapped.request({ path: '/p', method: 'GET' })).rejects.toMatchObject({
      response: { statusCode: 429 },
    });
    expect(throttled.seen).toHaveLength(6);
    expect(throttled.waits.reduce((a, b) => a + b, 0)).toBeGreaterThan(1_000);
    const sealed = answering([503, 200]);
    await expect(sealed.wrapped.request({ path: '/p', method: 'GET' })).rejects.toMatchObject({
      response: { statusCode: 503 },
    });
    expect(sealed.seen).toHaveLength(1);
  });
});
