/**
 * Polls `check` until it returns something other than undefined, and returns that; fails naming
 * `what` did not happen after `timeoutMs`. For states a test can only observe by asking (a pod's
 * phase, a task queue's pollers), never to wait out time.
 */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
