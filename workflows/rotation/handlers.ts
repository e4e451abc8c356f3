import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { WorkflowErrorTypes } from '../../core/failures';
import { sameActor } from '../../core/policy/actors';
import type { OperatorAction } from '../../core/status';
import {
  abortUpdate,
  approveUpdate,
  pauseSignal,
  resumeSignal,
  retrySignal,
  skipSoakSignal,
  statusQuery,
} from '../definitions';
import type { RotationRun } from './run';
import { acts, callActivity } from '../activity-calls';
import { profiles } from '../profiles';

/** The signal's operator action, or undefined when it carries none (the interceptor drops refused payloads). */
export function operatorAction(arg: unknown): OperatorAction | undefined {
  const by = typeof arg === 'object' && arg !== null ? (arg as { by?: unknown }).by : undefined;
  return typeof by === 'string' ? (arg as OperatorAction) : undefined;
}

/**
 * An operator signal's handler that ignores, and records, a signal without an operator action:
 * one whose payload was not encrypted with rotor's codec key (workflows/interceptors.ts drops it),
 * or one sent with no payload at all, which needs no key either. Temporal cannot reject a signal;
 * throwing here would fail the workflow task again and again and freeze the rotation. `action` is
 * the name rotor's controller attests (`RotationApproval.spec.action`), `name` the signal's.
 */
function operatorSignal(run: RotationRun, name: string, action: string, act: (action: OperatorAction) => void) {
  return (arg?: OperatorAction): void => {
    const op = operatorAction(arg);
    // A signal rotor's controller did not vouch for (identity: kubernetes) is audited by `attested`,
    // counted with the refused signals, and ignored.
    if (op)
      return void Promise.resolve(guarded(run, action, act)(op)).catch(() => {
        run.writer.refusedSignal(name, Date.now());
        run.publish();
      });
    run.writer.refusedSignal(name, Date.now());
    run.audit('operator-action', {
      detail: `refused ${name}: it carried no operator action encrypted with rotor's codec key (sent by a client without the key?); ignored`,
      by: 'unknown (no codec key)',
    });
    run.publish();
  };
}

/** The refusal of an action rotor's controller did not vouch for (or vouched for once, and it was taken). */
const notFromController = (message: string) =>
  ApplicationFailure.create({ type: WorkflowErrorTypes.notFromController, message, nonRetryable: true });

/**
 * Why `action` replays an attestation this rotation took already (undefined: it does not). Each
 * of the controller's action attestations serves one action: a copy from the history, sent again
 * within its 10 minutes, is refused like an action without one.
 */
function spentProblem(run: RotationRun, name: string, action: OperatorAction): string | undefined {
  const mac = action.attestation?.mac;
  if (typeof mac !== 'string' || !run.gates.spentAttestations.includes(mac)) return undefined;
  return `${name} by ${action.by} refused, nothing was changed: its attestation was used already by this rotation (a copy replayed); each RotationApproval is taken once, create another with \`rotor ${name} <request> --via-kube\``;
}

/** Records the refusal of `name` in the audit trail and rejects with NotFromController. Nothing else changes. */
function refuse(run: RotationRun, name: string, action: OperatorAction, refused: string): never {
  run.audit('operator-action', {
    detail: `refused ${name}: ${refused}`,
    by: `${action.by} (not through rotor's controller)`,
  });
  run.publish();
  throw notFromController(refused);
}

/**
 * Under `identity: kubernetes`, resolves once rotor's controller is shown to vouch for the action
 * (an activity checks its attestation: the key is the worker's, never the workflow's) and its
 * attestation was not taken before, and spends it; otherwise refuses (see `refuse`).
 */
async function attested(run: RotationRun, name: string, action: OperatorAction): Promise<void> {
  const replayed = spentProblem(run, name, action);
  if (replayed) refuse(run, name, action, replayed);
  const { refused } = await callActivity(
    acts.verifyOperatorAction,
    profiles.store,
    `check that ${name} came through rotor's controller`,
    { action: name, operator: action },
  );
  if (refused) refuse(run, name, action, refused);
  // A copy sent while the first was being checked: the first to come back takes it.
  const raced = spentProblem(run, name, action);
  if (raced) refuse(run, name, action, raced);
  run.gates.spentAttestations.push(String(action.attestation?.mac));
}

/**
 * An update's validator under `identity: kubernetes` too: an attestation taken already is
 * rejected before the update is accepted (so a replayed approve says NotFromController, not
 * "already approved"); a validator changes nothing, so the refusal is not audited.
 */
function unspent(run: RotationRun, name: string, validate: (a: OperatorAction) => void) {
  return (action: OperatorAction): void => {
    const replayed = run.gates.attestedActions ? spentProblem(run, name, action) : undefined;
    if (replayed) throw notFromController(replayed);
    validate(action);
  };
}

/**
 * `apply` as the handler of the action `name`: at once when the policy takes claims (as before, so
 * replays of older runs are unchanged), after `attested` and `validate` again under `identity:
 * kubernetes` (the run may have moved on, e.g. past the point of no return, while it checked).
 */
function guarded<R>(
  run: RotationRun,
  name: string,
  apply: (a: OperatorAction) => R,
  validate?: (a: OperatorAction) => void,
) {
  return (action: OperatorAction): R | Promise<R> => {
    if (!run.gates.attestedActions) return apply(action);
    return attested(run, name, action).then(() => {
      validate?.(action);
      return apply(action);
    });
  };
}

/** The status query and the operator's updates and signals (approve, abort, skip-soak, pause, resume, retry). */
export function registerHandlers(run: RotationRun): void {
  setHandler(statusQuery, () => run.status);
  const validateApprove = (action: OperatorAction) => {
    if (!run.spec.approval.beforeRevoke) throw new Error('this rotation has no approval gate');
    if (run.gates.separationOfDuties && sameActor(action.by, run.input.requestedBy))
      throw ApplicationFailure.create({
        type: WorkflowErrorTypes.selfApproval,
        message: `${action.by} requested this rotation and cannot approve it: the policy's separationOfDuties rule needs someone else to approve`,
        nonRetryable: true,
      });
    if (run.gates.approvedBy) throw new Error(`already approved by ${run.gates.approvedBy}`);
  };
  setHandler(
    approveUpdate,
    guarded(
      run,
      'approve',
      ({ by, reason }) => {
        run.gates.approvedBy = by;
        run.audit('operator-action', { detail: 'approve', by, ...(reason ? { reason } : {}) });
        return `approved by ${by}`;
      },
      validateApprove,
    ),
    { validator: unspent(run, 'approve', validateApprove) },
  );
  const validateAbort = (_action: OperatorAction) => {
    if (run.status.pointOfNoReturn) {
      throw new Error(
        'cannot abort: the old credential is already being revoked (point of no return); the rotation will finish forward',
      );
    }
    if (run.gates.abortedBy) throw new Error(`already aborted by ${run.gates.abortedBy}`);
  };
  setHandler(
    abortUpdate,
    guarded(
      run,
      'abort',
      ({ by, reason }) => {
        run.gates.abortedBy = `${by}${reason ? `: ${reason}` : ''}`;
        run.audit('operator-action', { detail: 'abort', by, ...(reason ? { reason } : {}) });
        run.forwardScope.cancel();
        return 'aborting: compensation runs now';
      },
      validateAbort,
    ),
    { validator: unspent(run, 'abort', validateAbort) },
  );
  setHandler(
    skipSoakSignal,
    operatorSignal(run, skipSoakSignal.name, 'skip-soak', ({ by }) => {
      run.gates.skipSoak = true;
      run.audit('operator-action', { detail: 'skip-soak', by });
    }),
  );
  const pause = (paused: boolean) => (action: OperatorAction) => {
    run.writer.paused(paused);
    run.audit('operator-action', { detail: paused ? 'pause' : 'resume', by: action.by });
    run.publish();
  };
  setHandler(pauseSignal, operatorSignal(run, pauseSignal.name, 'pause', pause(true)));
  setHandler(resumeSignal, operatorSignal(run, resumeSignal.name, 'resume', pause(false)));
  setHandler(
    retrySignal,
    operatorSignal(run, retrySignal.name, 'retry', ({ by }) => {
      run.gates.retryRequested = true;
      run.audit('operator-action', { detail: 'retry', by });
    }),
  );
}
