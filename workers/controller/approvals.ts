import type { RotorObject } from '../../adapters/kubernetes/rotor-resources';
import { isFinal, rotationApprovalSpecSchema, rotationRequestSpecSchema, verbFor } from '../../core/resources';
import type { ApprovalAction, RotationApprovalSpec } from '../../core/resources';
import { statusQuery } from '../../workflows/definitions';
import { approvalAction, runStartedFor, sendAction } from './actions';
import type { ControllerDeps } from './deps';
import { reconcileIncidentAction } from './incident-actions';
import { writeStatus } from './requests';

/** Actions the requester may not take on their own rotation (separation of duties). */
const needsSecondPerson: readonly ApprovalAction[] = ['approve', 'skip-soak'];

/**
 * One pass over a RotationApproval. The approver (the apiserver's user, which the admission policy
 * wrote) needs the RBAC verb for the action on the request's playbook, and may not approve their
 * own request. Waits (writes nothing) while the request is not started yet or its run has not
 * reached the approval gate; every refusal writes Denied and sends nothing.
 */
export async function reconcileApproval(deps: ControllerDeps, obj: RotorObject): Promise<void> {
  if (isFinal(obj.status?.conditions) || obj.status?.conditions?.some((c) => c.type === 'Accepted')) return;
  const { namespace } = obj.metadata;
  const deny = (reason: string, message: string) =>
    writeStatus(deps, 'rotationapprovals', obj, { type: 'Denied', reason, message });
  const parsed = rotationApprovalSpecSchema.safeParse(obj.spec);
  if (!parsed.success) return deny('InvalidSpec', parsed.error.issues.map((i) => i.message).join('; '));
  const spec: RotationApprovalSpec = parsed.data;
  if (spec.incidentRef !== undefined) return reconcileIncidentAction(deps, obj, spec, spec.incidentRef);
  if (spec.requestRef === undefined) return deny('InvalidSpec', 'name requestRef or incidentRef');
  const request = await deps.resources.get('rotationrequests', namespace, spec.requestRef);
  if (!request) return deny('RequestNotFound', `no RotationRequest ${spec.requestRef} in namespace ${namespace}`);
  const req = rotationRequestSpecSchema.safeParse(request.spec);
  if (!req.success) return deny('RequestInvalid', `RotationRequest ${spec.requestRef} is not valid`);
  const verb = verbFor({ action: spec.action });
  const approver = { user: spec.approvedBy, groups: spec.approvedGroups };
  const access = await deps.resources.review(approver, verb, namespace, req.data.playbookRef);
  if (!access.allowed)
    return deny(
      'MissingVerb',
      `user ${spec.approvedBy} may not ${verb} rotationplaybooks/${req.data.playbookRef} in namespace ${namespace}: grant the verb ${verb} on resource rotationplaybooks (group rotor.dev) there`,
    );
  if (needsSecondPerson.includes(spec.action) && spec.approvedBy === req.data.requestedBy)
    return deny(
      'SeparationOfDuties',
      `user ${spec.approvedBy} requested this rotation and may not ${spec.action} it: another user with the verb ${verb} must`,
    );
  if (isFinal(request.status?.conditions))
    return deny('RequestFinished', `RotationRequest ${spec.requestRef} has ended or was denied`);
  const workflowId = request.status?.workflowId;
  if (!workflowId) return; // not started yet: the next pass looks again
  // Only a run this controller started for this very request (its memo) takes the decision.
  const run = await runStartedFor(deps, request);
  if (!run)
    return deny(
      'NotThisRequest',
      `${workflowId} was not started for RotationRequest ${spec.requestRef}: rotor acts only on the run it started for the request`,
    );
  if (spec.action === 'approve') {
    const status = await deps.client.workflow
      .getHandle(workflowId)
      .query(statusQuery)
      .catch(() => undefined);
    // Before the gate the workflow would reject the update: wait for it rather than refuse.
    if (!status || (!status.awaitingApproval && !['revoke', 'finalize', 'rotated'].includes(status.phase))) return;
  }
  const sent = await sendAction(deps, run, spec.action, approvalAction(spec));
  if (!sent.ok) return deny('Rejected', `the rotation rejected ${spec.action}: ${sent.answer}`);
  await writeStatus(deps, 'rotationapprovals', obj, {
    type: 'Accepted',
    reason: 'Sent',
    message: `${spec.action} by ${spec.approvedBy} sent to ${workflowId}`,
    workflowId,
    ...(request.status?.uiLink ? { uiLink: request.status.uiLink } : {}),
    answer: sent.answer,
  });
}
