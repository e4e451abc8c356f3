import type { WorkflowExecutionDescription } from '@temporalio/client';
import { actionClaim, attest } from '../../adapters/controller-attestation';
import type { RotorObject } from '../../adapters/kubernetes/rotor-resources';
import { requestMemoKey } from '../../core/ids';
import type { RotationApprovalSpec } from '../../core/resources';
import type { OperatorAction } from '../../core/status';
import type { ControllerDeps } from './deps';

/**
 * The operator action of `spec` as rotor's controller sends it to the run `workflowId`: under
 * `identity: kubernetes` with its attestation, vouched for that run (its first run)
 * only, so a copy serves no other rotation or incident.
 */
export function vouchedAction(
  deps: ControllerDeps,
  spec: RotationApprovalSpec,
  run: WorkflowExecutionDescription,
): OperatorAction {
  const { workflowId } = run;
  const firstRunId = run.raw.workflowExecutionInfo?.firstRunId || run.runId;
  const action: OperatorAction = { by: spec.approvedBy, ...(spec.reason ? { reason: spec.reason } : {}) };
  if (!deps.attestationKeys) return action;
  const issuedAt = (deps.now ?? (() => new Date()))().getTime();
  const claim = actionClaim(spec.action, workflowId, firstRunId, action);
  return { ...action, attestation: attest(deps.attestationKeys, claim, issuedAt) };
}

/**
 * The run `obj`'s status names, when this controller started it for that very object (its memo
 * holds the object's uid); undefined otherwise. Whoever may write status could name any run.
 */
export async function runStartedFor(
  deps: ControllerDeps,
  obj: RotorObject,
): Promise<WorkflowExecutionDescription | undefined> {
  const { workflowId, runId } = obj.status ?? {};
  if (!workflowId) return undefined;
  const run = await deps.client.workflow
    .getHandle(workflowId, runId)
    .describe()
    .catch(() => undefined);
  return run?.memo?.[requestMemoKey] === obj.metadata.uid ? run : undefined;
}
