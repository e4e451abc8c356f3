/**
 * RotationApprovals of a RotationIncident (issue 24, `identity: kubernetes`): pause, resume or
 * abort an incident through the apiserver. The approver (the apiserver's user, which the admission
 * policy wrote) needs the RBAC verb `emergency` on every playbook the RotationIncident names, as
 * its requester did to start it; the controller then sends the action with its attestation for
 * that incident (activities/identity.ts checks it in the incident), and writes the answer back.
 */
import type { RotorObject } from '../../adapters/kubernetes/rotor-resources';
import { isFinal, rotationIncidentSpecSchema } from '../../core/resources';
import type { RotationApprovalSpec } from '../../core/resources';
import type { OperatorAction } from '../../core/status';
import { abortIncidentUpdate, pauseIncidentSignal, resumeIncidentSignal } from '../../workflows/incident/definitions';
import { approvalAction, runStartedFor, updateAnswer, vouched } from './actions';
import type { ControllerDeps } from './deps';
import { writeStatus } from './requests';

/** Sends `action` to the incident; its answer, or the refusal it gave an abort. */
async function send(
  deps: ControllerDeps,
  workflowId: string,
  action: RotationApprovalSpec['action'],
  args: OperatorAction,
): Promise<{ ok: boolean; answer: string }> {
  const handle = deps.client.workflow.getHandle(workflowId);
  if (action === 'pause' || action === 'resume') {
    await handle.signal(action === 'pause' ? pauseIncidentSignal : resumeIncidentSignal, args);
    return { ok: true, answer: action === 'pause' ? 'asked to start no new rotation' : 'asked to resume' };
  }
  return updateAnswer(handle.executeUpdate(abortIncidentUpdate, { args: [args] }));
}

/**
 * One pass over a RotationApproval naming `incidentRef`. Waits (writes nothing) while the
 * incident has not started; a missing verb, an ended incident, or a run not started for this
 * RotationIncident writes Denied and sends nothing.
 */
export async function reconcileIncidentAction(
  deps: ControllerDeps,
  obj: RotorObject,
  spec: RotationApprovalSpec,
  incidentRef: string,
): Promise<void> {
  const { namespace } = obj.metadata;
  const deny = (reason: string, message: string) =>
    writeStatus(deps, 'rotationapprovals', obj, { type: 'Denied', reason, message });
  const incident = await deps.resources.get('rotationincidents', namespace, incidentRef);
  if (!incident) return deny('IncidentNotFound', `no RotationIncident ${incidentRef} in namespace ${namespace}`);
  const parsed = rotationIncidentSpecSchema.safeParse(incident.spec);
  if (!parsed.success) return deny('IncidentInvalid', `RotationIncident ${incidentRef} is not valid`);
  const approver = { user: spec.approvedBy, groups: spec.approvedGroups };
  const missing: string[] = [];
  for (const ref of parsed.data.playbookRefs)
    if (!(await deps.resources.review(approver, 'emergency', namespace, ref)).allowed) missing.push(ref);
  if (missing.length > 0)
    return deny(
      'MissingVerb',
      `user ${spec.approvedBy} may not ${spec.action} RotationIncident ${incidentRef}: it needs the verb emergency on rotationplaybooks ${missing.join(', ')} in namespace ${namespace} (group rotor.dev)`,
    );
  if (isFinal(incident.status?.conditions))
    return deny('IncidentFinished', `RotationIncident ${incidentRef} has ended or was denied`);
  const workflowId = incident.status?.workflowId;
  if (!workflowId) return; // not started yet: the next pass looks again
  const run = await runStartedFor(deps, incident);
  if (!run)
    return deny(
      'NotThisIncident',
      `${workflowId} was not started for RotationIncident ${incidentRef}: rotor acts only on the run it started for it`,
    );
  const sent = await send(deps, workflowId, spec.action, vouched(deps, run, spec.action, approvalAction(spec)));
  if (!sent.ok) return deny('Rejected', `the incident rejected ${spec.action}: ${sent.answer}`);
  await writeStatus(deps, 'rotationapprovals', obj, {
    type: 'Accepted',
    reason: 'Sent',
    message: `${spec.action} by ${spec.approvedBy} sent to incident ${workflowId}`,
    workflowId,
    ...(incident.status?.uiLink ? { uiLink: incident.status.uiLink } : {}),
    answer: sent.answer,
  });
}
