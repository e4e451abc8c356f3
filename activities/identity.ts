/**
 * `identity: kubernetes` (issue 24): a rotation starts, and an operator action reaches it, only
 * when rotor's controller vouches for it (adapters/controller-attestation.ts). The checks read
 * Temporal's own record of the runs (their start time, first run, parent), which the starter
 * cannot write.
 */
import { Context } from '@temporalio/activity';
import type { WorkflowExecutionDescription, WorkflowExecutionInfo } from '@temporalio/client';
import {
  actionClaim,
  attestationProblem,
  attestationValidityMs,
  attestedInput,
} from '../adapters/controller-attestation';
import type { Keyring } from '../adapters/keys';
import { describeSchedule, scheduleCatchupWindowMs } from '../adapters/temporal/rotation-schedule';
import { playbookLauncherId, playbookOfScheduleId, requestMemoKey } from '../core/ids';
import type { RotationRef } from '../core/contracts';
import type { ControllerAttestation, OperatorAction, RotationInput } from '../core/status';

/** What to do instead, named in every refusal. */
export const identityAdvice =
  "the policy takes requesters and approvers from Kubernetes (identity: kubernetes): request the rotation with `rotor request <playbook>` (a RotationRequest), an incident with `rotor incident request <playbook>...` (a RotationIncident) and steer it with `rotor incident pause|resume|abort <incident> --via-kube`, and act on a rotation with `rotor approve|abort|skip-soak|retry|pause|resume <request> --via-kube` (a RotationApproval), so rotor's controller starts or passes it on";

/** Workflow type a RotationPlaybook's schedule starts (workflows/scheduled.ts). */
const launcherType = 'scheduledRotationWorkflow';

/** Workflow type a RotationIncident starts (workflows/incident.ts). */
export const incidentType = 'incidentWorkflow';

const describe = (workflowId: string, runId?: string) =>
  Context.current().client.workflow.getHandle(workflowId, runId).describe();

/** The first run of the rotation `d` belongs to (itself, unless it continued as new). */
async function firstRun(d: WorkflowExecutionDescription): Promise<WorkflowExecutionDescription> {
  const first = d.raw.workflowExecutionInfo?.firstRunId;
  return first && first !== d.runId ? describe(d.workflowId, first) : d;
}

/** How long the launcher's entry may take to show in its schedule's description. */
const scheduleRecordWaitMs = 10_000;

/** The entry of the schedule `scheduleId` for the launcher run `launcher`; undefined when it has none. */
async function scheduleEntry(scheduleId: string, launcher: RotationRef) {
  const deadline = Date.now() + scheduleRecordWaitMs;
  for (;;) {
    const schedule = await describeSchedule(Context.current().client, scheduleId);
    const actions = schedule?.info.recentActions ?? [];
    const entry = actions.find(
      (a) =>
        a.action.workflow.workflowId === launcher.workflowId &&
        a.action.workflow.firstExecutionRunId === launcher.runId,
    );
    // The schedule records a start just after making it: a run it started may be a moment early.
    if (entry || !schedule || Date.now() > deadline) return entry && { entry, actions };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Why the launcher run `launcher` was not started by the schedule `scheduleId` at one of the times
 * `schedule` (the attested playbook's) gives it (undefined: it was). Temporal's own record of the
 * schedule's recent actions names the run and its time: a client can write neither (the
 * `TemporalScheduledById` search attribute, by contrast, any client can set at start). A run the
 * schedule took off its times (a trigger, or a spec a client changed), more than the catch-up
 * window late (a backfill), or twice for the same time, does not count.
 */
async function scheduledProblem(
  scheduleId: string,
  launcher: RotationRef,
  schedule: { every: number; jitter: number } | undefined,
): Promise<string | undefined> {
  if (!schedule) return 'its playbook has no schedule';
  const found = await scheduleEntry(scheduleId, launcher);
  if (!found)
    return `its launcher ${launcher.workflowId} (run ${launcher.runId}) was not started by schedule ${scheduleId}`;
  const { entry, actions } = found;
  const at = entry.scheduledAt.getTime();
  // Interval times are multiples of `every` since the epoch; the scheduled time includes the jitter.
  const offset = ((at % schedule.every) + schedule.every) % schedule.every;
  if (offset > schedule.jitter)
    return `schedule ${scheduleId} took it at ${entry.scheduledAt.toISOString()}, not at one of its times (every ${schedule.every / 1000}s, jitter ${schedule.jitter / 1000}s): a trigger or a changed spec`;
  if (entry.takenAt.getTime() - at > scheduleCatchupWindowMs)
    return `schedule ${scheduleId} took it at ${entry.takenAt.toISOString()} for ${entry.scheduledAt.toISOString()}, later than its catch-up window (a backfill)`;
  const twice = actions.find((a) => a !== entry && a.scheduledAt.getTime() === at);
  if (twice)
    return `schedule ${scheduleId} started ${twice.action.workflow.workflowId} for the same time ${entry.scheduledAt.toISOString()} already`;
  return undefined;
}

/**
 * Why a RotationPlaybook schedule's attestation may not start the run `d` (undefined: it may): the
 * run must be the child of that schedule's launcher (its workflow id) on this task queue, and the
 * schedule itself must have started that launcher at one of the playbook's times.
 */
async function launcherProblem(
  d: WorkflowExecutionDescription,
  scheduleId: string,
  input: Pick<RotationInput, 'namespace' | 'playbook'>,
) {
  const { namespace } = input;
  const owner = playbookOfScheduleId(scheduleId);
  if (!owner || owner.namespace !== namespace)
    return `its attestation names schedule ${scheduleId}, not one of namespace ${namespace}`;
  const parent = d.parentExecution;
  const prefix = `${playbookLauncherId(owner.namespace, owner.name)}-`;
  if (!parent?.workflowId?.startsWith(prefix) || !parent.runId)
    return `a schedule's attestation serves only a run started by ${prefix}…`;
  const p = await describe(parent.workflowId, parent.runId);
  const taskQueue = Context.current().info.taskQueue;
  if (p.type !== launcherType || p.taskQueue !== taskQueue)
    return `its parent ${parent.workflowId} is ${p.type} on ${p.taskQueue}, not ${launcherType} on ${taskQueue}`;
  const schedule = input.playbook.spec.schedule;
  return scheduledProblem(
    scheduleId,
    { workflowId: parent.workflowId, runId: parent.runId },
    schedule && { every: schedule.every, jitter: schedule.jitter },
  );
}

/** Runs matching a visibility query: Temporal's own list (the time-skipping test server has none). */
export type RunLister = (query: string) => AsyncIterable<Pick<WorkflowExecutionInfo, 'runId' | 'startTime' | 'memo'>>;

const visibility: RunLister = (query) => Context.current().client.workflow.list({ query });

/**
 * Why the rotation run `d` with `input` may not start under `identity: kubernetes` (undefined: it
 * may): the controller's attestation must cover the input and, for a request, this rotation id
 * and a first run that began within minutes of it.
 */
export async function startProblem(
  keys: Keyring,
  input: Pick<RotationInput, keyof ReturnType<typeof attestedInput> | 'attestation'>,
  d: WorkflowExecutionDescription,
  runs: RunLister = visibility,
): Promise<string | undefined> {
  const att = input.attestation;
  const fields = attestedInput(input);
  if (att?.incidentId !== undefined) return incidentProblem(keys, att, fields, d, runs);
  if (att?.scheduleId !== undefined) {
    const problem = attestationProblem(keys, att, { kind: 'schedule', scheduleId: att.scheduleId, input: fields }, 0);
    return problem ?? launcherProblem(d, att.scheduleId, input);
  }
  const first = await firstRun(d);
  const requestUid = String(att?.requestUid ?? '');
  const claim = { kind: 'request' as const, workflowId: d.workflowId, requestUid, input: fields };
  return (
    attestationProblem(keys, att, claim, first.startTime.getTime()) ??
    usedBefore(runs, first, requestUid, new Date(Number(att?.issuedAt) - attestationValidityMs))
  );
}

/**
 * Why a RotationIncident's attestation `att` may not start the rotation run `d` (undefined: it may):
 * the run must be a child of that incident's run on this task queue (Temporal's record, which the
 * starter cannot write), the incident's first run must have begun within minutes of the
 * attestation, and no earlier run of that incident id may have been started for the same
 * RotationIncident. A child started later (the incident throttled, or has many targets) still
 * counts: only the incident's own code starts its children, from its attested targets.
 */
async function incidentProblem(
  keys: Keyring,
  att: ControllerAttestation,
  input: ReturnType<typeof attestedInput>,
  d: WorkflowExecutionDescription,
  runs: RunLister,
): Promise<string | undefined> {
  const incidentId = String(att.incidentId);
  const parent = (await firstRun(d)).parentExecution;
  if (parent?.workflowId !== incidentId || !parent.runId)
    return `an incident's attestation serves only a rotation its incident ${incidentId} starts, and this run's parent is ${parent?.workflowId ?? 'none'}`;
  const p = await describe(parent.workflowId, parent.runId);
  const taskQueue = Context.current().info.taskQueue;
  if (p.type !== incidentType || p.taskQueue !== taskQueue)
    return `its parent ${parent.workflowId} is ${p.type} on ${p.taskQueue}, not ${incidentType} on ${taskQueue}`;
  const incident = await firstRun(p);
  const requestUid = String(att.requestUid ?? '');
  const claim = { kind: 'incident-rotation' as const, incidentId, requestUid, workflowId: d.workflowId, input };
  return (
    attestationProblem(keys, att, claim, incident.startTime.getTime()) ??
    usedBefore(runs, incident, requestUid, new Date(Number(att.issuedAt) - attestationValidityMs))
  );
}

/**
 * Why the request's attestation is spent (undefined: it is not): an earlier run of this rotation
 * id, started since `since`, was started by the controller for the same RotationRequest (its
 * memo), so this run replays a copy. Temporal's record of that run cannot be rewritten by a client.
 */
async function usedBefore(
  runs: RunLister,
  first: WorkflowExecutionDescription,
  requestUid: string,
  since: Date,
): Promise<string | undefined> {
  const query = `WorkflowId = '${first.workflowId}' AND StartTime >= '${since.toISOString()}'`;
  for await (const run of runs(query)) {
    if (run.runId === first.runId || run.startTime >= first.startTime) continue;
    if (run.memo?.[requestMemoKey] === requestUid)
      return `its attestation was used already by run ${run.runId} of ${first.workflowId} (a copy replayed)`;
  }
  return undefined;
}

/** Builds the activity that checks an operator action under `identity: kubernetes`. */
export function createIdentityActivities(keys: Keyring) {
  return {
    /**
     * Why the calling rotation should refuse `operator`'s `action` (`refused`; none: it came through
     * rotor's controller for this rotation, within minutes). Reads nothing secret and changes nothing.
     */
    async verifyOperatorAction(input: { action: string; operator: OperatorAction }): Promise<{ refused?: string }> {
      const caller: RotationRef | undefined = Context.current().info.workflowExecution;
      if (!caller) return { refused: 'it was not asked by a rotation' };
      const first = await firstRun(await describe(caller.workflowId, caller.runId));
      const claim = actionClaim(input.action, caller.workflowId, first.runId, input.operator);
      const problem = attestationProblem(keys, input.operator.attestation, claim, Date.now());
      return problem
        ? {
            refused: `${input.action} by ${input.operator.by} refused, nothing was changed: ${problem}; ${identityAdvice}`,
          }
        : {};
    },
  };
}
