import { ActivityFailure, ApplicationFailure, TimeoutFailure, msOptionalToNumber } from '@temporalio/common';
import type { ActivityFunction } from '@temporalio/common';
import { log, proxyActivities, sleep } from '@temporalio/workflow';
import type { ActivityFunctionWithOptions, ActivityOptions } from '@temporalio/workflow';
import type { RotationActivities } from '../activities/index';
import { RetryableErrorTypes } from '../core/failures';
import type { ThrottleDetails } from '../core/failures';
import { profiles, queueWaits, throttleWaits } from './profiles';
import { afterQueueTimeout } from './queue-waits';
import type { QueueState } from './queue-waits';

/**
 * rotor's activities as the workflow calls them; every call passes its own profile (`callActivity`).
 * The proxy itself has no retry policy: the SDK deep-merges call options over the proxy's, so a
 * proxy `maximumAttempts` would leak into profiles meant never to give up (undo, persistent).
 */
export const acts = proxyActivities<RotationActivities>({ startToCloseTimeout: profiles.store.startToCloseTimeout });

/** A wait a call went through instead of failing: the backend throttled it, or no worker started it in time. */
export interface ActivityWait {
  kind: 'throttled' | 'queued';
  /** The call's summary (the step). */
  summary: string;
  /** How many times so far in this call. */
  count: number;
  /** How long the call waits now (throttled) or waited (queued). */
  waitMs: number;
}

/** A profile, and optionally who is told of the call's waits (the rotation shows them in its status). */
export type CallOptions = ActivityOptions & { onWait?: (wait: ActivityWait) => void };

/**
 * What the server is given for a call: the step's own retry policy for real failures, with
 * throttling handed back to the workflow at once (it does not use an attempt); its
 * scheduleToClose, `closeMs`, is never lengthened, and the time it may queue for a worker is
 * `queueWaits.sliceMs`, at most half of `closeMs` so a long queue is told apart from a slow step.
 */
export function scheduledOptions(options: ActivityOptions, closeMs?: number): ActivityOptions {
  const scheduleToClose = closeMs ?? msOptionalToNumber(options.scheduleToCloseTimeout);
  const queueMs =
    scheduleToClose === undefined ? queueWaits.sliceMs : Math.min(queueWaits.sliceMs, scheduleToClose / 2);
  return {
    ...options,
    scheduleToStartTimeout: options.scheduleToStartTimeout ?? Math.max(1_000, Math.floor(queueMs)),
    ...(scheduleToClose !== undefined ? { scheduleToCloseTimeout: scheduleToClose } : {}),
    retry: {
      ...options.retry,
      nonRetryableErrorTypes: [...(options.retry?.nonRetryableErrorTypes ?? []), RetryableErrorTypes.throttled],
    },
  };
}

/** The backend's wait (0: none named) and the jitter when `err` is a throttled call, else undefined. */
function throttleOf(err: unknown): { retryAfterMs: number; jitter: number } | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== RetryableErrorTypes.throttled) return undefined;
  const detail = cause.details?.[0] as Partial<ThrottleDetails> | undefined;
  const jitter = typeof detail?.jitter === 'number' ? Math.min(1, Math.max(0, detail.jitter)) : 0;
  return { retryAfterMs: typeof detail?.retryAfterMs === 'number' ? detail.retryAfterMs : 0, jitter };
}

/**
 * Whether `err` says an attempt of the step waited in the queue past its schedule-to-start timeout,
 * and if so whether an earlier attempt ran (the server gives the last attempt's failure as the
 * timeout's cause) or none did.
 */
function queuedTooLong(err: unknown): { ranBefore: boolean } | undefined {
  if (!(err instanceof ActivityFailure)) return undefined;
  const timeout = err.cause;
  if (!(timeout instanceof TimeoutFailure) || timeout.timeoutType !== 'SCHEDULE_TO_START') return undefined;
  return { ranBefore: timeout.cause !== undefined };
}

/**
 * The wait before the `n`th call after a throttle (1-based): the back-off, or the backend's
 * Retry-After if longer, lengthened by up to half with the failure's `jitter` (0–1).
 */
export function throttleWaitMs(n: number, retryAfterMs: number, jitter: number): number {
  const backoff = throttleWaits.initialMs * throttleWaits.backoffCoefficient ** Math.max(0, n - 1);
  return Math.round(Math.max(retryAfterMs, Math.min(backoff, throttleWaits.maximumMs)) * (1 + jitter / 2));
}

/**
 * Calls one activity with call-site options and a summary for the Temporal UI. The argument and
 * result types come from the activity itself, so a mismatched call does not type-check.
 *
 * Two waits are not failures of the step (profiles.ts). A throttled call sleeps and is called
 * again, up to the throttle budget (forward steps — those with `maximumAttempts` — the shorter
 * one). A call that waited in the queue past its schedule-to-start timeout is scheduled again:
 * with its whole scheduleToClose if no attempt of it ever started, else with what is left of it
 * (none left: it fails as the step timing out would); forward steps do so for `queueWaits.budgetMs`
 * at most. Each new call starts the step's attempts afresh; every step is idempotent, as its
 * retries already require.
 */
export async function callActivity<F extends ActivityFunction>(
  fn: ActivityFunctionWithOptions<F>,
  options: CallOptions,
  summary: string,
  ...args: Parameters<F>
): Promise<Awaited<ReturnType<F>>> {
  const { onWait, ...profile } = options;
  const forward = profile.retry?.maximumAttempts !== undefined;
  const budget = forward ? throttleWaits.forwardBudgetMs : throttleWaits.persistentBudgetMs;
  const stageMs = msOptionalToNumber(profile.scheduleToCloseTimeout);
  let closeMs = stageMs;
  let queue: QueueState = { deadline: undefined, queuedMs: 0 };
  let throttles = 0;
  let throttledMs = 0;
  let queued = 0;
  for (;;) {
    const scheduled = { ...scheduledOptions(profile, closeMs), summary };
    // Workflow time: deterministic on replay.
    const scheduledAt = Date.now();
    try {
      return await fn.executeWithOptions(scheduled, args);
    } catch (err) {
      const timedOut = queuedTooLong(err);
      if (timedOut !== undefined) {
        const waitedMs = msOptionalToNumber(scheduled.scheduleToStartTimeout) ?? 0;
        const verdict = afterQueueTimeout({ stageMs, forward }, queue, {
          ...timedOut,
          scheduledAt,
          now: Date.now(),
          closeMs,
          waitedMs,
        });
        if (!verdict.again) throw err;
        ({ closeMs, state: queue } = verdict);
        queued++;
        log.warn('no worker started the step in time; scheduling it again', { summary, queued, closeMs });
        onWait?.({ kind: 'queued', summary, count: queued, waitMs: waitedMs });
        continue;
      }
      const throttle = throttleOf(err);
      if (throttle === undefined || throttledMs >= budget) throw err;
      throttles++;
      const wait = throttleWaitMs(throttles, throttle.retryAfterMs, throttle.jitter);
      throttledMs += wait;
      closeMs = stageMs;
      queue = { ...queue, deadline: undefined };
      log.info('the backend throttled the step; calling it again after a wait', { summary, throttles, wait });
      onWait?.({ kind: 'throttled', summary, count: throttles, waitMs: wait });
      await sleep(wait);
    }
  }
}
