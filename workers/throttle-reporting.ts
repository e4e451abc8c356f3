import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { isThrottling } from '../core/incident/throttling';
import type { BackendThrottled } from '../core/incident/types';

/** The incident's signal (workflows/incident/definitions.ts), by name: workers do not import workflows. */
const backendThrottledSignalName = 'backendThrottledSignal';
/** One report per rotation in this long is enough: the incident holds the backend for 5 s each time. */
const reportEveryMs = 2_000;
/** Rotation workflow id → its incident's workflow id (null: not an incident's), and when last reported. */
const known = new Map<string, { incident: string | null; reportedAt: number }>();
const maxKnown = 5_000;

/** The incident that started this rotation, if one did; asked once per rotation. */
async function incidentOf(ctx: Context, workflowId: string): Promise<string | null> {
  const hit = known.get(workflowId);
  if (hit) return hit.incident;
  const parent = (await ctx.client.workflow.getHandle(workflowId).describe()).parentExecution?.workflowId;
  const incident = parent?.startsWith('incident/') ? parent : null;
  if (known.size >= maxKnown) known.clear();
  known.set(workflowId, { incident, reportedAt: 0 });
  return incident;
}

/** Tells the rotation's incident, if it has one, that a backend throttled it; a failed report is dropped. */
async function report(ctx: Context): Promise<void> {
  const { workflowExecution, workflowType, activityType } = ctx.info;
  // Only a rotation (a workflow's activity, not a standalone one) can belong to an incident.
  const workflowId = workflowExecution?.workflowId;
  if (workflowType !== 'rotationWorkflow' || !workflowId) return;
  const incident = await incidentOf(ctx, workflowId);
  const entry = known.get(workflowId);
  if (!incident || !entry || Date.now() - entry.reportedAt < reportEveryMs) return;
  entry.reportedAt = Date.now();
  const signal: BackendThrottled = { workflowId, activity: activityType };
  await ctx.client.workflow.getHandle(incident).signal(backendThrottledSignalName, signal);
}

/**
 * When a backend throttles an activity of a rotation an incident started (core/incident/throttling.ts
 * recognises the backend's words), tells the incident at once, so it holds new starts on that
 * backend while the rotation retries, instead of learning of it only if the rotation fails. The
 * report names the rotation and the activity, never the error's text. The error is rethrown as is.
 */
export class ThrottleReportingActivityInbound implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    try {
      return await next(input);
    } catch (e) {
      if (e instanceof Error && isThrottling(e.message))
        // Not awaited: the activity's own retry must not wait on Temporal answering the report.
        void report(this.ctx).catch(() => undefined);
      throw e;
    }
  }
}
