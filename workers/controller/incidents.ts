/**
 * RotationIncidents (issue 24, `identity: kubernetes`): emergency rotations of several
 * RotationPlaybooks of one namespace as one incident. The requester (the apiserver's user, which
 * the admission policy wrote) needs the RBAC verb `emergency` on every playbook named; the
 * controller then starts the incident workflow with its attestation of each target's rotation,
 * bound to the incident's id and the RotationIncident's uid (activities/identity.ts checks them),
 * and writes how the incident goes onto the object's status.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { uiLink } from '../../adapters/temporal/connection';
import { attest, attestedInput } from '../../adapters/controller-attestation';
import type { RotorObject } from '../../adapters/kubernetes/rotor-resources';
import { incidentWorkflowId, requestMemoKey } from '../../core/ids';
import { childInput, incidentRotationId } from '../../core/incident/child-input';
import type { IncidentInput, IncidentReport, IncidentStatus, IncidentTarget } from '../../core/incident/types';
import { rotationIncidentSpecSchema } from '../../core/resources';
import type { RotationIncidentSpec } from '../../core/resources';
import { incidentStatusQuery } from '../../workflows/incident/definitions';
import { playbookFileOf, playbookOf, reconcileStarter, rootMessage, writeStatus } from './requests';
import { undeclarableCompromise } from './deps';
import type { ControllerDeps } from './deps';

/** Workflow id of a RotationIncident's incident: `incident/<namespace>/<name>`. */
export const rotationIncidentId = (namespace: string, name: string) => incidentWorkflowId(`${namespace}/${name}`);

/** `input` with each target vouched for as a child of the incident `incidentId` for the object `uid`. */
function vouched(deps: ControllerDeps, incidentId: string, uid: string, input: IncidentInput): IncidentInput {
  const keys = deps.attestationKeys;
  if (!keys) return input;
  const issuedAt = (deps.now ?? (() => new Date()))().getTime();
  const targets = input.targets.map((t): IncidentTarget => {
    const claim = {
      kind: 'incident-rotation' as const,
      incidentId,
      requestUid: uid,
      workflowId: incidentRotationId(input, t),
      input: attestedInput(childInput(input, incidentId, t)),
    };
    return { ...t, attestation: attest(keys, claim, issuedAt) };
  });
  return { ...input, targets };
}

/** The playbooks the incident rotates, or why it may not start (the first problem of each kind, all names). */
async function targetsOf(
  deps: ControllerDeps,
  namespace: string,
  spec: RotationIncidentSpec,
): Promise<{ targets: IncidentTarget[] } | { reason: string; message: string }> {
  const requester = { user: spec.requestedBy, groups: spec.requestedGroups };
  const missing: string[] = [];
  for (const ref of spec.playbookRefs)
    if (!(await deps.resources.review(requester, 'emergency', namespace, ref)).allowed) missing.push(ref);
  if (missing.length > 0)
    return {
      reason: 'MissingVerb',
      message: `user ${spec.requestedBy} may not emergency rotationplaybooks ${missing.join(', ')} in namespace ${namespace}: grant the verb emergency on resource rotationplaybooks (group rotor.dev) there`,
    };
  const compromise = undeclarableCompromise(deps, spec.requestedBy, spec.compromised);
  if (compromise) return compromise;
  const targets: IncidentTarget[] = [];
  const secrets = new Map<string, string>();
  for (const ref of spec.playbookRefs) {
    const found = await playbookOf(deps, namespace, ref);
    if ('reason' in found) return found;
    const secret = found.playbook.spec.secret.name;
    const twin = secrets.get(secret);
    if (twin)
      return { reason: 'SameSecret', message: `playbooks ${twin} and ${ref} both rotate secret ${secret}; name one` };
    secrets.set(secret, ref);
    targets.push({ playbook: found.playbook, playbookFile: playbookFileOf(namespace, ref) });
  }
  return { targets };
}

/** Starts the incident of a new RotationIncident, once; a refusal writes Denied and starts nothing. */
async function startIncident(deps: ControllerDeps, obj: RotorObject, spec: RotationIncidentSpec): Promise<void> {
  const { namespace, name, uid } = obj.metadata;
  const found = await targetsOf(deps, namespace, spec);
  if ('reason' in found)
    return writeStatus(deps, 'rotationincidents', obj, {
      type: 'Denied',
      reason: found.reason,
      message: found.message,
    });
  const workflowId = rotationIncidentId(namespace, name);
  const input: IncidentInput = {
    reason: spec.reason,
    requestedBy: spec.requestedBy,
    namespace,
    compromised: spec.compromised,
    selection: `RotationIncident ${namespace}/${name}`,
    targets: found.targets,
    concurrency: spec.concurrency,
    perBackend: spec.perBackend,
  };
  let runId: string;
  try {
    const handle = await deps.client.workflow.start('incidentWorkflow', {
      taskQueue: deps.taskQueue,
      workflowId,
      args: [vouched(deps, workflowId, uid, input)],
      memo: { [requestMemoKey]: uid },
      staticSummary: `incident ${namespace}/${name}: ${found.targets.length} emergency rotation(s) by ${spec.requestedBy}`,
    });
    runId = handle.firstExecutionRunId;
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    // Started by this controller before its status write was lost: adopt the run.
    const d = await deps.client.workflow.getHandle(workflowId).describe();
    if (d.memo?.[requestMemoKey] !== uid)
      return writeStatus(deps, 'rotationincidents', obj, {
        type: 'Denied',
        reason: 'AlreadyRunning',
        message: `an incident ${workflowId} is already running`,
      });
    runId = d.runId;
  }
  await writeStatus(deps, 'rotationincidents', obj, {
    type: 'Accepted',
    reason: 'Started',
    message: `emergency allowed for ${spec.requestedBy} on ${found.targets.length} playbook(s); incident ${workflowId} started`,
    workflowId,
    runId,
    uiLink: uiLink(workflowId, runId),
    phase: 'running',
  });
}

/** `3 rotated, 1 running`: the counts that are not zero. */
const countsOf = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ') || 'nothing yet';

/** Follows an accepted incident: its counts while it runs, and how it ended. */
async function followIncident(deps: ControllerDeps, obj: RotorObject): Promise<void> {
  const { workflowId = '', runId } = obj.status ?? {};
  const handle = deps.client.workflow.getHandle(workflowId, runId);
  const d = await handle.describe();
  // Whoever may write status could name another's run: follow only the one started for this object.
  if (d.memo?.[requestMemoKey] !== obj.metadata.uid)
    return writeStatus(deps, 'rotationincidents', obj, {
      type: 'Denied',
      reason: 'NotThisIncident',
      message: `${workflowId} was not started for this RotationIncident: rotor follows only the run it started for it`,
    });
  if (d.status.name === 'RUNNING') {
    const s = await handle.query(incidentStatusQuery).catch((): IncidentStatus | undefined => undefined);
    const message = `${s?.paused ? 'paused: ' : ''}${countsOf(s?.counts ?? {})}`;
    if (obj.status?.conditions?.some((c) => c.type === 'Rotating' && c.message === message)) return;
    return writeStatus(deps, 'rotationincidents', obj, { type: 'Rotating', reason: 'Running', message });
  }
  const ended = await handle.result().then(
    (r: IncidentReport) => r,
    (e: unknown) => rootMessage(e),
  );
  if (typeof ended === 'string')
    return writeStatus(deps, 'rotationincidents', obj, {
      type: 'RolledBack',
      reason: d.status.name,
      message: ended.slice(0, 2000),
      phase: 'ended',
    });
  const why = [...ended.needsAttention, ...ended.rolledBack, ...ended.skipped].map((r) => `${r.secret}: ${r.why}`);
  return writeStatus(deps, 'rotationincidents', obj, {
    type: ended.outcome === 'rotated' ? 'Succeeded' : 'RolledBack',
    reason: {
      rotated: 'Rotated',
      'rolled-back': 'RolledBack',
      'needs-attention': 'NeedsAttention',
      aborted: 'Aborted',
    }[ended.outcome],
    message: [countsOf(ended.counts), ...why].join('; ').slice(0, 2000),
    phase: ended.outcome,
  });
}

/** One pass over a RotationIncident: start it, follow it, or nothing once it is final. */
export const reconcileIncident = (deps: ControllerDeps, obj: RotorObject): Promise<void> =>
  reconcileStarter(deps, 'rotationincidents', obj, rotationIncidentSpecSchema, startIncident, followIncident);
