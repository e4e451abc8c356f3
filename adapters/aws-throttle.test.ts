import { SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { isThrottling } from '../core/incident/throttling';
import { awsThrottle } from './aws-throttle';

/** An error as the SDK throws one for an unmodelled code: name, HTTP metadata and the raw response. */
function awsError(name: string, status: number, headers: Record<string, string> = {}, throttling?: boolean) {
  return Object.assign(
    new SecretsManagerServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } }),
    { message: 'Rate exceeded', $response: { statusCode: status, headers } },
    throttling === undefined ? {} : { $retryable: { throttling } },
  );
}

const where = 'aws secret app/db';
const now = Date.parse('2026-12-03T09:00:00Z');

describe('awsThrottle', () => {
  it('says ThrottlingException is BackendThrottled, with Retry-After in seconds as the delay', () => {
    const f = awsThrottle(awsError('ThrottlingException', 400, { 'retry-after': '3' }), where, 'put a version', now);
    expect({
      type: f?.type,
      nonRetryable: f?.nonRetryable,
      details: f?.details,
      next: Number(f?.nextRetryDelay),
    }).toEqual({
      type: 'BackendThrottled',
      nonRetryable: false,
      details: [{ retryAfterMs: 3000, jitter: expect.any(Number) as unknown }],
      next: 3000,
    });
    expect(f?.message).toBe(
      'aws secret app/db: throttled while trying to put a version: ThrottlingException: Rate exceeded; retried with back-off',
    );
    expect(isThrottling(f?.message ?? '')).toBe(true);
  });

  it("reads S3's SlowDown, an HTTP-date Retry-After, the SDK's throttling verdict and a bare 429", () => {
    const date = new Date(now + 5000).toUTCString();
    expect(awsThrottle(awsError('SlowDown', 503, { 'retry-after': date }), where, 'x', now)?.details).toMatchObject([
      { retryAfterMs: 5000 },
    ]);
    expect(awsThrottle(awsError('SomethingNew', 400, {}, true), where, 'x', now)?.details).toEqual([
      { jitter: expect.any(Number) as unknown },
    ]);
    expect(awsThrottle(awsError('Unknown', 429), where, 'x', now)?.type).toBe('BackendThrottled');
  });

  it('caps a Retry-After at 5 minutes and ignores one it cannot read', () => {
    expect(
      awsThrottle(awsError('Throttling', 400, { 'retry-after': '86400' }), where, 'x', now)?.details,
    ).toMatchObject([{ retryAfterMs: 300_000 }]);
    expect(awsThrottle(awsError('Throttling', 400, { 'retry-after': 'soon' }), where, 'x', now)?.details).toEqual([
      { jitter: expect.any(Number) as unknown },
    ]);
  });

  it("leaves other errors alone, a quota on secrets (LimitExceededException) among them: waiting won't lift it", () => {
    expect(awsThrottle(awsError('LimitExceededException', 400), where, 'x', now)).toBeUndefined();
    expect(awsThrottle(awsError('InternalServiceError', 500), where, 'x', now)).toBeUndefined();
    expect(awsThrottle(new Error('socket hang up'), where, 'x', now)).toBeUndefined();
  });
});
