/**
 * RotationPlaybooks (issue 24): the controller keeps one Temporal Schedule per RotationPlaybook
 * whose spec has a `schedule`, named after the object (`rotor-playbook/<namespace>/<name>`), and
 * writes the playbook's status: `Ready` (admitted by the policy as the namespace's tenant, and its
 * schedule in line with the spec), `nextDue` and `lastRotation`. A playbook the policy refuses has
 * no schedule. Deleting a playbook deletes its schedule at the next pass: the id names its owner,
 * so a scan of rotor's playbook schedules finds those whose object is gone (no finalizer, see
 * docs/operating.md).
 */
import type { Client, ScheduleDescription, ScheduleExecutionResult } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { uiLink } from '../../adapters/temporal/connection';
import { attest, attestedInput } from '../../adapters/controller-attestation';
import {
  applySchedule,
  deleteSchedule,
  describeSchedule,
  rotationSchedule,
} from '../../adapters/temporal/rotation-schedule';
import type { DesiredSchedule } from '../../adapters/temporal/rotation-schedule';
import type { RotorObject, RotorStatusPatch } from '../../adapters/kubernetes/rotor-resources';
import { playbookLauncherId, playbookOfScheduleId, playbookScheduleId } from '../../core/ids';
import { formatDuration } from '../../core/playbook/duration';
import { evaluatePolicy, formatRefusal, tenantFor } from '../../core/policy/evaluate';
import type { PolicyContext } from '../../core/policy/evaluate';
import type { Policy } from '../../core/policy/schema';
import { canonicalJson } from '../../core/canonical-json';
import { endedOutcomes, rotationRequestSpecSchema, withCondition } from '../../core/resources';
import type { Condition, LastRotation } from '../../core/resources';
import type { RotationInput } from '../../core/status';
import type { ScheduledOutcome } from '../../workflows/scheduled';
import { parsePlaybook, playbookFileOf } from './requests';
import type { ControllerDeps } from './deps';

/** What the controller needs to keep RotationPlaybooks' schedules: the worker's policy and defaults. */
export interface PlaybookScheduling {
  policy: Policy;
  defaults?: Pick<PolicyContext, 'defaultDatabase' | 'defaultMariadb' | 'defaultRegion'>;
}

export interface PlaybookDeps extends ControllerDeps {
  scheduling: PlaybookScheduling;
  /** Ended scheduled runs by the launcher's run id: how they went does not change. */
  ended: Map<string, LastRotation>;
}

/** The requester scheduled runs carry. */
const scheduleRequester = 'rotor-schedule';

type Judgement =
  | { ready: false; reason: string; message: string }
  | { ready: true; tenant: string | undefined; schedule?: DesiredSchedule; every?: number };

/** Whether the policy admits the playbook as its namespace's tenant, and the schedule it should have. */
function judge(deps: PlaybookDeps, obj: RotorObject): Judgement {
  const { namespace, name } = obj.metadata;
  const parsed = parsePlaybook(obj);
  if ('reason' in parsed) return { ready: false, ...parsed };
  const { playbook } = parsed;
  const { policy, defaults } = deps.scheduling;
  const playbookFile = playbookFileOf(namespace, name);
  const ctx: PolicyContext = { ...defaults, namespace, requestedBy: scheduleRequester, playbookFile };
  const refusals = evaluatePolicy(policy, playbook, ctx);
  if (refusals.length > 0)
    return { ready: false, reason: 'PolicyRefused', message: refusals.map(formatRefusal).join('; ') };
  const tenant = policy.allowAll ? undefined : tenantFor(policy, playbook, ctx)?.name;
  const every = playbook.spec.schedule?.every;
  if (every === undefined) return { ready: true, tenant };
  const input: RotationInput = {
    playbook,
    playbookFile,
    trigger: 'schedule',
    requestedBy: scheduleRequester,
    namespace,
  };
  const scheduleId = playbookScheduleId(namespace, name);
  // Vouched for once per spec (no time: the schedule keeps it), and only for this schedule's launcher.
  const keys = deps.attestationKeys;
  const claim = { kind: 'schedule' as const, scheduleId, input: attestedInput(input) };
  const schedule = rotationSchedule({
    scheduleId,
    launcherId: playbookLauncherId(namespace, name),
    input: keys ? { ...input, attestation: attest(keys, claim, 0) } : input,
    every,
    taskQueue: deps.taskQueue,
    owner: namespace,
  });
  return { ready: true, tenant, schedule, every };
}

const requestOutcome = (conditions: readonly Condition[]): LastRotation['outcome'] => {
  const isTrue = (type: Condition['type']) => conditions.some((c) => c.type === type && c.status === 'True');
  if (isTrue('Succeeded')) return 'Rotated';
  if (isTrue('RolledBack')) return 'RolledBack';
  if (isTrue('NeedsAttention')) return 'NeedsAttention';
  return 'Running';
};

/** The rotations the controller started for this playbook's RotationRequests. */
function requested(obj: RotorObject, requests: readonly RotorObject[]): LastRotation[] {
  return requests.flatMap((r): LastRotation[] => {
    const spec = rotationRequestSpecSchema.safeParse(r.spec);
    const { workflowId, runId, uiLink: link, conditions = [] } = r.status ?? {};
    const started = conditions.find((c) => c.type === 'Accepted' && c.status === 'True');
    if (r.metadata.namespace !== obj.metadata.namespace || !spec.success || !workflowId || !started) return [];
    if (spec.data.playbookRef !== obj.metadata.name) return [];
    return [
      {
        time: started.lastTransitionTime,
        outcome: requestOutcome(conditions),
        trigger: spec.data.mode,
        workflowId,
        ...(runId ? { runId } : {}),
        uiLink: link ?? uiLink(workflowId, runId),
        request: r.metadata.name,
      },
    ];
  });
}

/** How the launcher a schedule started went, and the rotation it started (its child). */
async function scheduledRun(deps: PlaybookDeps, action: ScheduleExecutionResult): Promise<LastRotation> {
  const { workflowId: launcherId, firstExecutionRunId } = action.action.workflow;
  const known = deps.ended.get(firstExecutionRunId);
  if (known) return known;
  const handle = deps.client.workflow.getHandle(launcherId, firstExecutionRunId);
  const d = await handle.describe();
  const history = await handle.fetchHistory();
  const child = history.events
    ?.map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution)
    .find((w) => w?.workflowId && w.runId);
  const workflowId = child?.workflowId ?? launcherId;
  const runId = child?.runId ?? firstExecutionRunId;
  let outcome: LastRotation['outcome'];
  if (d.status.name === 'RUNNING') outcome = 'Running';
  else if (d.status.name === 'COMPLETED')
    outcome = ((await handle.result()) as ScheduledOutcome).outcome === 'rotated' ? 'Rotated' : 'Skipped';
  // The launcher fails with its rotation, which compensated (or was refused before any change).
  else outcome = d.status.name === 'FAILED' ? 'RolledBack' : 'Failed';
  const last: LastRotation = {
    time: d.startTime.toISOString(),
    outcome,
    trigger: 'schedule',
    workflowId,
    runId,
    uiLink: uiLink(workflowId, runId),
  };
  if (endedOutcomes.includes(outcome)) deps.ended.set(firstExecutionRunId, last);
  return last;
}

/** The newest rotation of the playbook: its requests' and its schedule's latest run. */
async function lastRotationOf(
  deps: PlaybookDeps,
  obj: RotorObject,
  requests: readonly RotorObject[],
  schedule: ScheduleDescription | undefined,
): Promise<LastRotation | undefined> {
  const latest = [...(schedule?.info.recentActions ?? [])].sort((a, b) => +a.takenAt - +b.takenAt).at(-1);
  // A launcher past Temporal's retention is gone: the requests alone then say what happened last.
  const scheduled = latest
    ? await scheduledRun(deps, latest).catch((e: unknown) => {
        if (e instanceof WorkflowNotFoundError) return undefined;
        throw e;
      })
    : undefined;
  const all = [...requested(obj, requests), ...(scheduled ? [scheduled] : [])];
  return all.sort((a, b) => Date.parse(a.time) - Date.parse(b.time)).at(-1);
}

/** Writes the playbook's status when it differs from what it shows (a write is a watch event: no loop). */
async function writePlaybookStatus(
  deps: PlaybookDeps,
  obj: RotorObject,
  ready: Omit<Condition, 'lastTransitionTime' | 'type'>,
  fields: Required<Pick<RotorStatusPatch, 'scheduleId' | 'nextDue' | 'lastRotation'>>,
): Promise<void> {
  const generation = obj.metadata.generation;
  const observed = generation !== undefined ? { observedGeneration: generation } : {};
  const conditions = withCondition(
    obj.status?.conditions,
    { type: 'Ready', ...ready, ...observed },
    (deps.now ?? (() => new Date()))(),
  );
  const next = { ...fields, conditions, ...observed };
  const current = obj.status ?? {};
  const same = (Object.keys(next) as (keyof typeof next)[]).every(
    (k) => canonicalJson(next[k] ?? null) === canonicalJson(current[k] ?? null),
  );
  if (same) return;
  await deps.resources.patchStatus('rotationplaybooks', obj.metadata.namespace, obj.metadata.name, next);
}

/** One playbook: its schedule made (or removed) as its spec and the policy say, then its status. */
async function reconcilePlaybook(deps: PlaybookDeps, obj: RotorObject, requests: readonly RotorObject[]) {
  const { namespace, name } = obj.metadata;
  const scheduleId = playbookScheduleId(namespace, name);
  const verdict = judge(deps, obj);
  let current = await describeSchedule(deps.client, scheduleId);
  let ready: Omit<Condition, 'lastTransitionTime' | 'type'>;
  if (!verdict.ready) {
    // Refused or invalid: no schedule runs the spec (nor an earlier one) until it is admitted again.
    if (current) await deleteSchedule(deps.client, scheduleId);
    current = undefined;
    ready = { status: 'False', reason: verdict.reason, message: verdict.message.slice(0, 2000) };
  } else {
    const as = verdict.tenant ? `admitted by the policy as tenant ${verdict.tenant}` : 'admitted by the policy';
    if (verdict.schedule) {
      // Only the controller writes these schedules: a pause or change made behind it is put back.
      if ((await applySchedule(deps.client, verdict.schedule, current, { restore: true })) !== 'unchanged')
        current = await describeSchedule(deps.client, scheduleId);
      ready = {
        status: 'True',
        reason: 'Scheduled',
        message: `${as}; schedule ${scheduleId} runs every ${formatDuration(verdict.every ?? 0)}`,
      };
    } else {
      if (current) await deleteSchedule(deps.client, scheduleId);
      current = undefined;
      ready = { status: 'True', reason: 'NoSchedule', message: `${as}; no spec.schedule: rotated on request only` };
    }
  }
  const nextDue = current?.info.nextActionTimes[0]?.toISOString();
  await writePlaybookStatus(deps, obj, ready, {
    scheduleId: current ? scheduleId : null,
    nextDue: nextDue ?? null,
    lastRotation: (await lastRotationOf(deps, obj, requests, current)) ?? null,
  });
}

/**
 * One pass over the RotationPlaybooks of the namespaces `mine` accepts: each gets its schedule and
 * status; then every rotor playbook schedule of those namespaces whose RotationPlaybook is gone is
 * deleted. Schedules of other namespaces, and any schedule not named `rotor-playbook/…`, are never
 * touched. A playbook whose pass failed keeps its schedule; the next pass retries it.
 */
export async function reconcilePlaybooks(
  deps: PlaybookDeps,
  mine: (namespace: string) => boolean,
  onError: (what: string, e: unknown) => void,
): Promise<void> {
  const playbooks = (await deps.resources.list('rotationplaybooks')).filter((p) => mine(p.metadata.namespace));
  const requests = (await deps.resources.list('rotationrequests')).filter((r) => mine(r.metadata.namespace));
  for (const obj of playbooks)
    await reconcilePlaybook(deps, obj, requests).catch((e: unknown) =>
      onError(`rotationplaybooks ${obj.metadata.namespace}/${obj.metadata.name}`, e),
    );
  await deleteOrphans(deps.client, playbooks, mine);
}

/** Deletes rotor's playbook schedules in `mine`'s namespaces whose RotationPlaybook does not exist. */
async function deleteOrphans(client: Client, playbooks: readonly RotorObject[], mine: (ns: string) => boolean) {
  const present = new Set(playbooks.map((p) => playbookScheduleId(p.metadata.namespace, p.metadata.name)));
  for await (const s of client.schedule.list()) {
    const owner = playbookOfScheduleId(s.scheduleId);
    if (!owner || !mine(owner.namespace) || present.has(s.scheduleId)) continue;
    await deleteSchedule(client, s.scheduleId);
  }
}
