/**
 * How long one request to Vault, an apiserver or AWS may go unanswered. A backend that accepts a
 * connection and never answers would otherwise hold an activity attempt until its stage's whole
 * ScheduleToClose is spent (a 1,000-secret incident lost 10 plans that way: one attempt sat 29 s
 * of a 30 s stage while every other plan took 1–3 s). Bounded, the request fails retryable and
 * Temporal tries the step again inside its stage.
 */

/** The default bound: far above any answer seen on a loaded 2-core machine, far below a stage. */
export const defaultRequestTimeoutMs = 15_000;

/** The setting that changes it, for messages. */
export const requestTimeoutSetting = 'ROTOR_REQUEST_TIMEOUT_MS';

/**
 * `ROTOR_REQUEST_TIMEOUT_MS` (whole milliseconds, 100–600000), else 15 s. Fails naming the
 * variable when it is not such a number, so a typo never turns the bound off.
 */
export function requestTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[requestTimeoutSetting];
  if (raw === undefined || raw === '') return defaultRequestTimeoutMs;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 100 || ms > 600_000)
    throw new Error(
      `${requestTimeoutSetting}=${raw} is not a whole number of milliseconds between 100 and 600000; unset it for the default ${defaultRequestTimeoutMs}`,
    );
  return ms;
}

/** What a timed-out request says: the backend, the bound, and the setting that changes it. */
export function noAnswerText(backend: string, ms: number): string {
  return `no answer from ${backend} within ${ms / 1000} s (${requestTimeoutSetting}); it is tried again`;
}

/**
 * AWS SDK client settings that bound connecting and each request's whole answer; the SDK retries a
 * timed-out request itself before the step fails. `throwOnRequestTimeout`: without it the SDK's
 * handler only logs a warning when the bound passes, and goes on waiting.
 */
export function awsRequestBounds(env: NodeJS.ProcessEnv = process.env): {
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };
} {
  const ms = requestTimeoutMs(env);
  return { requestHandler: { connectionTimeout: ms, requestTimeout: ms, throwOnRequestTimeout: true } };
}
