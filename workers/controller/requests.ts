import type { WorkflowExecutionDescription } from '@temporalio/client';
import { CancelledFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { z } from 'zod';
import { uiLink } from '../../adapters/temporal/connection';
import { describeIfAny, notRotorsRotation, terminateSquatter } from '../../adapters/temporal/rotation-squatters';
import { attest, attestedInput } from '../../adapters/controller-attestation';
import type { RotorObject, RotorStatus } from '../../adapters/kubernetes/rotor-resources';
import { requestMemoKey, rotationWorkflowId } from '../../core/ids';
import { playbookSchema } from '../../core/playbook/schema';
import type { Playbook } from '../../core/playbook/schema';
import { isFinal, rotationRequestSpecSchema, verbFor, withCondition } from '../../core/resources';
import type { Condition, ConditionType, RotationRequestSpec } from '../../core/resources';
import { RotationPhase, RotationPlaybook, RotationSecret, RotationTrigger } from '../../core/search-attributes';
import type { RotationInput, RotationStatus } from '../../core/status';
import { endedOutcome, supersededCondition } from '../../core/supersede';
import { statusQuery } from '../../workflows/definitions';
import { undeclarableCompromise } from './deps';
import type { ControllerDeps } from './deps';
import { makeWay } from './supersede';

/** What the controller's reconcilers share. */
/** `input` with the controller's attestation that it starts `workflowId` for the RotationRequest `uid`. */
function attested(deps: ControllerDeps, workflowId: string, uid: string, input: RotationInput): RotationInput {
  if (!deps.attestationKeys) return input;
  const issuedAt = (deps.now ?? (() => new Date()))().getTime();
  const claim = { kind: 'request' as const, workflowId, requestUid: uid, input: attestedInput(input) };
  return { ...input, attestation: attest(deps.attestationKeys, claim, issuedAt) };
}

/** The condition to write and the status fields beside it. */
type Verdict = { type: ConditionType; status?: Condition['status']; reason: string; message: string } & Omit<
  RotorStatus,
  'conditions'
>;

/** Writes `verdict` (and the conditions `also`) onto the object's status, keeping its other conditions. */
export async function writeStatus(
  deps: ControllerDeps,
  plural: 'rotationrequests' | 'rotationapprovals' | 'rotationincidents',
  obj: RotorObject,
  { type, status = 'True', reason, message, ...fields }: Verdict,
  also: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>[] = [],
): Promise<void> {
  const generation = obj.metadata.generation;
  const observed = generation !== undefined ? { observedGeneration: generation } : {};
  const now = (deps.now ?? (() => new Date()))();
  const conditions = [...also, { type, status, reason, message }].reduce<Condition[] | undefined>(
    (all, c) => withCondition(all, { ...c, ...observed }, now),
    obj.status?.conditions,
  );
  // Only over what was read: another controller replica's write in between makes this one conflict.
  await deps.resources.patchStatus(
    plural,
    obj.metadata.namespace,
    obj.metadata.name,
    { ...fields, conditions, ...(generation !== undefined ? { observedGeneration: generation } : {}) },
    obj.metadata.resourceVersion,
  );
}

/** A spec's zod problems, each with its field. */
const zodMessage = (e: z.ZodError) => e.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`).join('; ');

/** Where a RotationPlaybook's runs say their playbook came from. */
export const playbookFileOf = (namespace: string, name: string) => `rotationplaybooks/${namespace}/${name}`;

/** A RotationPlaybook object's spec as the playbook rotor runs, or why it is none. */
export function parsePlaybook(obj: RotorObject): { playbook: Playbook } | { reason: string; message: string } {
  const { name } = obj.metadata;
  const parsed = playbookSchema.safeParse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotationPlaybook',
    metadata: { name },
    spec: obj.spec,
  });
  if (!parsed.success)
    return { reason: 'InvalidPlaybook', message: `RotationPlaybook ${name}: ${zodMessage(parsed.error)}` };
  return { playbook: parsed.data };
}

/** The RotationPlaybook as the playbook rotor runs, or why it is none. */
export async function playbookOf(
  deps: ControllerDeps,
  namespace: string,
  name: string,
): Promise<{ playbook: Playbook } | { reason: string; message: string }> {
  const obj = await deps.resources.get('rotationplaybooks', namespace, name);
  if (!obj)
    return {
      reason: 'PlaybookNotFound',
      message: `no RotationPlaybook ${name} in namespace ${namespace}: requests name a playbook of their own namespace`,
    };
  return parsePlaybook(obj);
}

/**
 * Starts the rotation of a new RotationRequest, once: the requester (the apiserver's user, which
 * the admission policy wrote) needs the RBAC verb `rotate` (or `emergency`) on the playbook. A
 * refusal writes Denied naming what is missing and starts nothing. The tenant is the namespace:
 * the run carries it, and the worker's admission checks the playbook against that tenant.
 */
async function startRequest(deps: ControllerDeps, obj: RotorObject, spec: RotationRequestSpec): Promise<void> {
  const { namespace, name, uid } = obj.metadata;
  const deny = (reason: string, message: string) =>
    writeStatus(deps, 'rotationrequests', obj, { type: 'Denied', reason, message });
  const verb = verbFor({ request: spec });
  const requester = { user: spec.requestedBy, groups: spec.requestedGroups };
  const access = await deps.resources.review(requester, verb, namespace, spec.playbookRef);
  if (!access.allowed)
    return deny(
      'MissingVerb',
      `user ${spec.requestedBy} may not ${verb} rotationplaybooks/${spec.playbookRef} in namespace ${namespace}: grant the verb ${verb} on resource rotationplaybooks (group rotor.dev) there`,
    );
  // Before anything else moves: an emergency may supersede a running rotation.
  const compromise = spec.mode === 'emergency' && undeclarableCompromise(deps, spec.requestedBy, spec.compromised);
  if (compromise) return deny(compromise.reason, compromise.message);
  const found = await playbookOf(deps, namespace, spec.playbookRef);
  if ('reason' in found) return deny(found.reason, found.message);
  const { playbook } = found;
  const input: RotationInput = {
    playbook,
    playbookFile: playbookFileOf(namespace, spec.playbookRef),
    trigger: spec.mode,
    requestedBy: spec.requestedBy,
    namespace,
    ...(spec.reason ? { reason: spec.reason } : {}),
    ...(spec.mode === 'emergency' ? { emergency: { compromised: spec.compromised } } : {}),
  };
  const workflowId = rotationWorkflowId(playbook.spec.secret.name, namespace);
  // The latest run of this rotation id: one started for this request before its status write
  // was lost (adopted, never started twice), or one in the way.
  let latest = await describeIfAny(deps.client, workflowId);
  // A run that is not rotor's rotation is never adopted nor waited for: running, it is terminated.
  const squatter = latest && notRotorsRotation(latest, deps.taskQueue);
  let evicted: string | undefined;
  if (latest && squatter) {
    if (latest.status.name === 'RUNNING')
      evicted = await terminateSquatter(deps.client, latest, squatter, "rotor's controller");
    latest = undefined;
  }
  const accept = (runId: string) =>
    acceptRequest(
      deps,
      obj,
      `${verb} allowed for ${spec.requestedBy}${evicted ? `; ${evicted}` : ''}`,
      workflowId,
      runId,
    );
  if (latest?.memo?.[requestMemoKey] === uid) return accept(latest.runId);
  if (latest?.status.name === 'RUNNING') {
    if (spec.mode !== 'emergency')
      return deny('AlreadyRunning', `a rotation of ${playbook.spec.secret.name} is already running (${workflowId})`);
    return superseding(deps, obj, spec, latest);
  }
  try {
    const handle = await deps.client.workflow.start('rotationWorkflow', {
      taskQueue: deps.taskQueue,
      workflowId,
      args: [attested(deps, workflowId, uid, input)],
      memo: { [requestMemoKey]: uid },
      staticSummary: `rotate ${playbook.spec.secret.name} (${spec.mode}) for ${namespace}/${name} by ${spec.requestedBy}`,
      typedSearchAttributes: [
        { key: RotationSecret, value: playbook.spec.secret.name },
        { key: RotationPlaybook, value: playbook.metadata.name },
        { key: RotationTrigger, value: spec.mode },
        { key: RotationPhase, value: 'plan' },
      ],
    });
    return accept(handle.firstExecutionRunId);
  } catch (e) {
    // Another run began since the look above: the next pass sees it and decides.
    if (e instanceof WorkflowExecutionAlreadyStartedError) return;
    throw e;
  }
}

/**
 * An emergency request's step past the running rotation `current` (workers/controller/supersede.ts),
 * written onto its status (only when it says something new): `Superseded=False` while that run
 * winds down, Denied when it refused the abort.
 */
async function superseding(
  deps: ControllerDeps,
  obj: RotorObject,
  spec: RotationRequestSpec,
  current: WorkflowExecutionDescription,
): Promise<void> {
  const step = await makeWay(deps, obj, spec, current);
  if ('refused' in step)
    return writeStatus(deps, 'rotationrequests', obj, {
      type: 'Denied',
      reason: 'SupersedeRefused',
      message: step.refused,
    });
  const condition = supersededCondition(step.wait, step.detail);
  const was = obj.status?.conditions?.find((c) => c.type === 'Superseded');
  if (was?.message === condition.message && obj.status?.superseded?.runId === step.wait.runId) return;
  return writeStatus(deps, 'rotationrequests', obj, { type: 'Superseded', ...condition, superseded: step.wait });
}

/**
 * Writes Accepted for the run `runId` started for the request; when it superseded a run, also
 * how that run ended (`Superseded=True`, its outcome and the failure it ended with).
 */
async function acceptRequest(
  deps: ControllerDeps,
  obj: RotorObject,
  allowed: string,
  workflowId: string,
  runId: string,
): Promise<void> {
  const previous = obj.status?.superseded;
  const also: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>[] = [];
  let superseded: Pick<RotorStatus, 'superseded'> = {};
  if (previous) {
    const handle = deps.client.workflow.getHandle(previous.workflowId, previous.runId);
    const d = await handle.describe();
    const ended = await handle.result().then(
      () => undefined,
      (e: unknown) => rootMessage(e),
    );
    const done = { ...previous, outcome: endedOutcome(d.status.name) };
    superseded = { superseded: done };
    also.push({ type: 'Superseded', ...supersededCondition(done, ended?.slice(0, 1000)) });
  }
  const after = previous ? ` after run ${previous.runId} ended ${superseded.superseded?.outcome}` : '';
  await writeStatus(
    deps,
    'rotationrequests',
    obj,
    {
      type: 'Accepted',
      reason: 'Started',
      message: `${allowed}; rotation ${workflowId} started${after}`,
      workflowId,
      runId,
      uiLink: uiLink(workflowId, runId),
      phase: 'plan',
      ...superseded,
    },
    also,
  );
}

/**
 * The innermost message of a failure chain, short of a cancellation: an aborted run fails with
 * the abort (who and why) caused by the cancellation of its forward steps, and the abort says more.
 */
export function rootMessage(e: unknown): string {
  let cur: unknown = e;
  while (cur instanceof Error && cur.cause instanceof Error && !(cur.cause instanceof CancelledFailure))
    cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}

/** Follows an accepted request's run: its phase while it runs, and how it ended. */
async function followRequest(deps: ControllerDeps, obj: RotorObject): Promise<void> {
  const { workflowId = '', runId } = obj.status ?? {};
  const handle = deps.client.workflow.getHandle(workflowId, runId);
  const d = await handle.describe();
  // Whoever may write status could name another's run: follow only the one started for this request.
  if (d.memo?.[requestMemoKey] !== obj.metadata.uid)
    return writeStatus(deps, 'rotationrequests', obj, {
      type: 'Denied',
      reason: 'NotThisRequest',
      message: `${workflowId} was not started for this request: rotor follows only the run it started for it`,
    });
  const status = await handle.query(statusQuery).catch((): RotationStatus | undefined => undefined);
  const phase = status?.phase ?? obj.status?.phase ?? 'plan';
  if (d.status.name === 'RUNNING') {
    const attention = phase === 'needs-attention';
    const type: ConditionType = attention ? 'NeedsAttention' : 'Rotating';
    const message = status?.awaitingApproval ? `phase ${phase}: awaiting a RotationApproval` : `phase ${phase}`;
    if (phase === obj.status?.phase && obj.status.conditions?.some((c) => c.type === type && c.message === message))
      return;
    return writeStatus(deps, 'rotationrequests', obj, {
      type,
      reason: attention ? 'NeedsAttention' : 'Running',
      message,
      phase,
    });
  }
  if (d.status.name === 'COMPLETED')
    return writeStatus(deps, 'rotationrequests', obj, {
      type: 'Succeeded',
      reason: 'Rotated',
      message: `rotated; see ${obj.status?.uiLink ?? workflowId}`,
      phase: 'rotated',
    });
  const failure = await handle.result().then(
    () => 'ended',
    (e: unknown) => rootMessage(e),
  );
  return writeStatus(deps, 'rotationrequests', obj, {
    type: 'RolledBack',
    reason: phase === 'refused' ? 'Refused' : d.status.name === 'FAILED' ? 'RolledBack' : d.status.name,
    message: failure.slice(0, 2000),
    phase,
  });
}

/**
 * One pass over an object that starts a run (a RotationRequest or RotationIncident): nothing once
 * it is final, `follow` once it started one, else its spec parsed with `schema` (Denied naming each
 * field when it does not parse) and handed to `start`.
 */
export async function reconcileStarter<S>(
  deps: ControllerDeps,
  plural: 'rotationrequests' | 'rotationincidents',
  obj: RotorObject,
  schema: z.ZodType<S>,
  start: (deps: ControllerDeps, obj: RotorObject, spec: S) => Promise<void>,
  follow: (deps: ControllerDeps, obj: RotorObject) => Promise<void>,
): Promise<void> {
  if (isFinal(obj.status?.conditions)) return;
  if (obj.status?.workflowId) return follow(deps, obj);
  const parsed = schema.safeParse(obj.spec);
  if (!parsed.success)
    return writeStatus(deps, plural, obj, { type: 'Denied', reason: 'InvalidSpec', message: zodMessage(parsed.error) });
  return start(deps, obj, parsed.data);
}

/** One pass over a RotationRequest: start it, follow it, or nothing once it is final. */
export const reconcileRequest = (deps: ControllerDeps, obj: RotorObject): Promise<void> =>
  reconcileStarter(deps, 'rotationrequests', obj, rotationRequestSpecSchema, startRequest, followRequest);
