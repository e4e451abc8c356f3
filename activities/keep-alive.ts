import { Context } from '@temporalio/activity';
import { whileHeartbeating } from '../adapters/heartbeat';

type ActivityFns = Record<string, (...args: never[]) => Promise<unknown>>;

/** The running activity's context, or none when a function is called outside a worker (tests, tools). */
function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/**
 * Wraps activities that report no progress of their own so they heartbeat while they run, whenever
 * the caller set a heartbeat timeout: a worker that dies mid-step is then noticed within that
 * timeout, not after the step's whole start-to-close timeout (a minute for undos and finalize).
 * Beats carry no details, so activities that heartbeat progress a retry resumes from (cluster
 * batches, consumer gates) must not be wrapped: an empty beat would replace their progress.
 */
export function keepAlive<T extends ActivityFns>(activities: T): T {
  const wrapped = Object.entries(activities).map(([name, fn]) => {
    const run = (...args: never[]): Promise<unknown> => {
      const ctx = currentContext();
      const timeoutMs = ctx?.info.heartbeatTimeoutMs;
      if (!ctx || !timeoutMs) return fn(...args);
      return whileHeartbeating(
        () => ctx.heartbeat(),
        Math.max(250, Math.floor(timeoutMs / 4)),
        () => fn(...args),
      );
    };
    return [name, run] as const;
  });
  return Object.fromEntries(wrapped) as T;
}
