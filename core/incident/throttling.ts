/**
 * Whether a rotation failed because a backend throttled it. rotor's failure catalogue has no
 * throttling type (core/failures.ts): the backends' own words are matched — AWS
 * `ThrottlingException`/`Rate exceeded`, HTTP 429 `Too Many Requests` from Vault or an apiserver.
 */
export function isThrottling(message: string): boolean {
  return /throttl|rate exceeded|too many requests|\b429\b/i.test(message);
}

/** Back-off of a backend after its `n`th throttled rotation (1-based): 30 s doubling, at most 10 min. */
export function throttleBackoffMs(n: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, n - 1), 600_000);
}

/** A throttled rotation is started again at most this many times in all. */
export const maxThrottledAttempts = 3;

/**
 * How long a backend takes no new rotation after a running rotation reported it throttled (the
 * rotation itself retries). Fixed, not doubling: every report restarts it, so a backend that keeps
 * throttling keeps its new starts held, and one that recovers is used again within seconds.
 */
export const reportedThrottleBackoffMs = 5_000;
