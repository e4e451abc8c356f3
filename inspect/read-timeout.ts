import { setTimeout as delay } from 'node:timers/promises';

/** How long a read-only check waits for one API call before reporting it as a problem. */
export const readOnlyCallTimeoutMs = 15_000;

/** `work`, or a rejection naming `what` when it has not answered within `ms`. */
export async function withTimeout<T>(what: string, work: Promise<T>, ms = readOnlyCallTimeoutMs): Promise<T> {
  const stop = new AbortController();
  const timeout = delay(ms, undefined, { signal: stop.signal }).then(
    () => Promise.reject(new Error(`${what}: no answer within ${ms / 1000}s`)),
    // Aborted because the work answered first; the race is already decided.
    () => undefined as never,
  );
  try {
    return await Promise.race([work, timeout]);
  } finally {
    stop.abort();
  }
}
