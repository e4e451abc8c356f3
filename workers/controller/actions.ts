/**
 * Operator actions rotor's controller sends to a rotation or an incident (a RotationApproval's, or
 * its own abort when an emergency supersedes a run): vouched for with its attestation under
 * `identity: kubernetes`, and bound to that run's first run so a copy serves no other.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { actionClaim, attest } from '../../adapters/controller-attestation';
import type { RotorObject } from '../../adapters/kubernetes/rotor-resources';
import { requestMemoKey } from '../../core/ids';
import type { ApprovalAction, RotationApprovalSpec } from '../../core/resources';
import type { OperatorAction } from '../../core/status';
import {
  abortUpdate,
  approveUpdate,
  pauseSignal,
  resumeSignal,
  retrySignal,
  skipSoakSignal,
} from '../../workflows/definitions';
import type { ControllerDeps } from './deps';

/** The actions sent as signals (Temporal cannot reject one: the run refuses it itself), with what to answer. */
const signalled = {
  'skip-soak': [skipSoakSignal, 'asked to end the soak now'],
  retry: [retrySignal, 'asked to retry the failing step now'],
  pause: [pauseSignal, 'asked to pause before the next stage'],
  resume: [resumeSignal, 'asked to resume'],
} as const;

/** What a RotationApproval asks, as the operator action the workflow takes: who, and why if said. */
export const approvalAction = (spec: RotationApprovalSpec): OperatorAction => ({
  by: spec.approvedBy,
  ...(spec.reason ? { reason: spec.reason } : {}),
});

/**
 * `op` as the controller sends `action` to `run`: with its attestation when it holds attestation
 * keys, vouched for that workflow's first run only, so a copy serves no other rotation or incident.
 */
export function vouched(
  deps: ControllerDeps,
  run: WorkflowExecutionDescription,
  action: ApprovalAction,
  op: OperatorAction,
): OperatorAction {
  if (!deps.attestationKeys) return op;
  const firstRunId = run.raw.workflowExecutionInfo?.firstRunId || run.runId;
  const claim = actionClaim(action, run.workflowId, firstRunId, op);
  return { ...op, attestation: attest(deps.attestationKeys, claim, (deps.now ?? (() => new Date()))().getTime()) };
}

/** The workflow's answer to an update, or the refusal it gave (any other error is thrown). */
export async function updateAnswer(update: Promise<string>): Promise<{ ok: boolean; answer: string }> {
  try {
    return { ok: true, answer: await update };
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError)
      return { ok: false, answer: e.cause instanceof Error ? e.cause.message : e.message };
    throw e;
  }
}

/**
 * Sends `action` by `op` to the rotation `run` describes, vouched for (see {@link vouched}).
 * `updateId` makes an update idempotent: Temporal answers a repeat with the same id (a controller
 * restarted mid-way) with the first one's outcome. Resolves to the workflow's answer, or the
 * refusal it gave.
 */
export async function sendAction(
  deps: ControllerDeps,
  run: WorkflowExecutionDescription,
  action: ApprovalAction,
  op: OperatorAction,
  updateId?: string,
): Promise<{ ok: boolean; answer: string }> {
  const args = vouched(deps, run, action, op);
  const handle = deps.client.workflow.getHandle(run.workflowId, updateId ? run.runId : undefined);
  if (action === 'approve' || action === 'abort') {
    const update = action === 'approve' ? approveUpdate : abortUpdate;
    return updateAnswer(handle.executeUpdate(update, { args: [args], ...(updateId ? { updateId } : {}) }));
  }
  const [signal, answer] = signalled[action];
  await handle.signal(signal, args);
  return { ok: true, answer };
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
