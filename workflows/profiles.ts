import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Named timeout/retry profiles for activity proxies. Forward steps get bounded retries inside the
 * stage's timeout so a stuck step fails into compensation; undos and post-revoke steps retry far
 * longer because giving up there leaves the world half-changed.
 */
export const profiles = {
  /** Store reads/writes: quick calls, transient errors retried with back-off. */
  store: {
    // A store call takes well under a second. The step heartbeats while it runs (activities/keep-alive.ts),
    // so a dead worker's step is retried within the heartbeat timeout, while a live worker slowed by
    // load is not cut off mid-write.
    startToCloseTimeout: '30s',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 8 },
  },
  /** Canary checks: a failed check is final (non-retryable type); infrastructure errors retried a little. */
  canary: {
    startToCloseTimeout: '2m',
    heartbeatTimeout: '10s',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
  },
  /** Long waits that heartbeat (cluster convergence); a dead worker is noticed within the heartbeat timeout. */
  waiting: {
    startToCloseTimeout: '30m',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  },
  /** Undos: retried until they succeed or a non-retryable error says they cannot. */
  undo: {
    startToCloseTimeout: '1m',
    // The step heartbeats while it runs (activities/keep-alive.ts): a dead worker's undo is retried
    // within seconds, not after the minute, so a rollback is not held up by a crash.
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '30m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  },
  /**
   * Cluster delivery during restore (an undo) and revoke (past the point of no return): no overall
   * bound — restore never gives up, revoke gets its attempt bound from `timeouts.revoke` at the call.
   */
  persistent: {
    startToCloseTimeout: '1m',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  },
  /** Verification during restore and revoke: the waiting timeouts, retried without giving up. */
  persistentWaiting: {
    startToCloseTimeout: '30m',
    heartbeatTimeout: '30s',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m' },
  },
  /** After the point of no return: keep trying; the workflow alerts while it does. */
  irreversible: {
    startToCloseTimeout: '1m',
    // As for undos: past the point of no return a crash must not leave revoke idle for a minute.
    heartbeatTimeout: '10s',
    scheduleToCloseTimeout: '10m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m' },
  },
} satisfies Record<string, ActivityOptions>;

/**
 * Waiting for a worker is not work, but it must not lengthen a stage's bound either: a step's
 * `scheduleToCloseTimeout` stays its stage's timeout. Each call may wait `sliceMs` in the queue
 * (at most half its scheduleToClose) before Temporal fails it with a schedule-to-start timeout,
 * which it does not retry; the call is then scheduled again (activity-calls.ts):
 * - no attempt ever started (no cause): with its whole budget again, nothing of it ran;
 * - an earlier attempt ran and failed, and the retry waited: with what is left of its
 *   scheduleToClose, so a step a worker started never gets past its stage's bound.
 * Forward steps (with `maximumAttempts`) stop scheduling again once `budgetMs` was spent so, and fail;
 * undos and post-revoke steps, which retry without giving up, keep waiting.
 */
export const queueWaits = {
  sliceMs: 60_000,
  budgetMs: 120_000,
} as const;

/**
 * Throttling (`BackendThrottled`: Vault's 429, AWS `ThrottlingException`) is waited out by the
 * workflow, not by the step's attempts, which stay for real failures: the call returns at once,
 * sleeps the backend's Retry-After or this back-off (whichever is longer) and calls again. Forward
 * steps give up after `forwardBudgetMs` of such waits (and roll back); undos, restores and revokes
 * after `persistentBudgetMs`, so a backend throttling for an hour still surfaces.
 */
export const throttleWaits = {
  initialMs: 1_000,
  backoffCoefficient: 2,
  maximumMs: 30_000,
  forwardBudgetMs: 15 * 60_000,
  persistentBudgetMs: 60 * 60_000,
} as const;
