import type { ApplicationFailure } from '@temporalio/common';
import { retryAfterMs, throttled } from '../core/failures';

/**
 * AWS error codes that mean "slow down", from the SDK's throttling list
 * (@smithy/service-error-classification) with S3's `SlowDown`; not Secrets Manager's
 * `LimitExceededException`, a quota on secrets that waiting does not lift. The SDK retried them a
 * few times already before rotor sees one.
 */
const throttlingCodes = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'EC2ThrottledException',
]);

/** What of an AWS SDK v3 error tells throttling apart: its name, the SDK's verdict, the HTTP answer. */
interface AwsErrorShape {
  name?: string;
  message?: string;
  $retryable?: { throttling?: boolean };
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/**
 * `BackendThrottled` (with the response's Retry-After, if any) when AWS throttled the call, else
 * undefined. `where`/`what` name the resource and the action, never data.
 */
export function awsThrottle(e: unknown, where: string, what: string, now = Date.now()): ApplicationFailure | undefined {
  const err = (e ?? {}) as AwsErrorShape;
  const name = err.name ?? 'Error';
  const isThrottle =
    throttlingCodes.has(name) || err.$retryable?.throttling === true || err.$metadata?.httpStatusCode === 429;
  if (!isThrottle) return undefined;
  const after = retryAfterMs(err.$response?.headers?.['retry-after'], now);
  return throttled(
    `${where}: throttled while trying to ${what}: ${name}: ${err.message ?? ''}; retried with back-off`,
    after,
  );
}
