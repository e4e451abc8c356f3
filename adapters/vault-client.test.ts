import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { isThrottling } from '../core/incident/throttling';
import { vaultFailure } from './vault-client';

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
      details: [],
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
