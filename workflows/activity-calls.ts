import type { ActivityFunction } from '@temporalio/common';
import { proxyActivities } from '@temporalio/workflow';
import type { ActivityFunctionWithOptions, ActivityOptions } from '@temporalio/workflow';
import type { RotationActivities } from '../activities/index';
import { profiles } from './profiles';

/**
 * rotor's activities as the workflow calls them; every call passes its own profile (`callActivity`).
 * The proxy itself has no retry policy: the SDK deep-merges call options over the proxy's, so a
 * proxy `maximumAttempts` would leak into profiles meant never to give up (undo, persistent).
 */
export const acts = proxyActivities<RotationActivities>({ startToCloseTimeout: profiles.store.startToCloseTimeout });

/**
 * Calls one activity with call-site options and a summary for the Temporal UI. The argument and
 * result types come from the activity itself, so a mismatched call does not type-check.
 */
export function callActivity<F extends ActivityFunction>(
  fn: ActivityFunctionWithOptions<F>,
  options: ActivityOptions,
  summary: string,
  ...args: Parameters<F>
): Promise<Awaited<ReturnType<F>>> {
  return fn.executeWithOptions({ ...options, summary }, args);
}
