/**
 * Operator actions rotor's controller sends to a rotation (a RotationApproval's, or its own abort
 * when an emergency supersedes a run): vouched for with its attestation under `identity:
 * kubernetes`, and bound to that rotation's first run so a copy serves no other.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { actionClaim, attest } from '../../adapters/controller-attestation';
import type { ApprovalAction } from '../../core/resources';
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

/**
 * Sends `action` by `op` to the run `run` describes, vouched for when the controller holds
 * attestation keys. `updateId` makes an update idempotent: Temporal answers a repeat with the
 * same id (a controller restarted mid-way) with the first one's outcome. Resolves to the
 * workflow's answer, or the refusal it gave.
 */
export async function sendAction(
  deps: ControllerDeps,
  run: WorkflowExecutionDescription,
  action: ApprovalAction,
  op: OperatorAction,
  updateId?: string,
): Promise<{ ok: boolean; answer: string }> {
  const { workflowId } = run;
  // Vouched for this rotation (its first run) only: a copy serves no other rotation.
  const firstRunId = run.raw.workflowExecutionInfo?.firstRunId || run.runId;
  const args: OperatorAction = deps.attestationKeys
    ? {
        ...op,
        attestation: attest(
          deps.attestationKeys,
          actionClaim(action, workflowId, firstRunId, op),
          (deps.now ?? (() => new Date()))().getTime(),
        ),
      }
    : op;
  const handle = deps.client.workflow.getHandle(workflowId, updateId ? run.runId : undefined);
  try {
    if (action === 'approve' || action === 'abort') {
      const update = action === 'approve' ? approveUpdate : abortUpdate;
      return {
        ok: true,
        answer: await handle.executeUpdate(update, { args: [args], ...(updateId ? { updateId } : {}) }),
      };
    }
    const [signal, answer] = signalled[action];
    await handle.signal(signal, args);
    return { ok: true, answer };
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError)
      return { ok: false, answer: e.cause instanceof Error ? e.cause.message : e.message };
    throw e;
  }
}
