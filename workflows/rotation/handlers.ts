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

/** The signal's operator action, or undefined when it carries none (the interceptor drops refused payloads). */
function operatorAction(arg: unknown): OperatorAction | undefined {
  const by = typeof arg === 'object' && arg !== null ? (arg as { by?: unknown }).by : undefined;
  return typeof by === 'string' ? (arg as OperatorAction) : undefined;
}

/**
 * An operator signal's handler that ignores, and records, a signal without an operator action:
 * one whose payload was not encrypted with rotor's codec key (workflows/interceptors.ts drops it),
 * or one sent with no payload at all, which needs no key either. Temporal cannot reject a signal;
 * throwing here would fail the workflow task again and again and freeze the rotation.
 */
function operatorSignal(run: RotationRun, name: string, act: (action: OperatorAction) => void) {
  return (arg?: OperatorAction): void => {
    const action = operatorAction(arg);
    if (action) return act(action);
    run.writer.refusedSignal(name, Date.now());
    run.audit('operator-action', {
      detail: `refused ${name}: it carried no operator action encrypted with rotor's codec key (sent by a client without the key?); ignored`,
      by: 'unknown (no codec key)',
    });
    run.publish();
  };
}

/** The status query and the operator's updates and signals (approve, abort, skip-soak, pause, resume, retry). */
export function registerHandlers(run: RotationRun): void {
  setHandler(statusQuery, () => run.status);
  setHandler(
    approveUpdate,
    ({ by, reason }) => {
      run.gates.approvedBy = by;
      run.audit('operator-action', { detail: 'approve', by, ...(reason ? { reason } : {}) });
      return `approved by ${by}`;
    },
    {
      validator: (action: OperatorAction) => {
        if (!run.spec.approval.beforeRevoke) throw new Error('this rotation has no approval gate');
        if (run.gates.separationOfDuties && sameActor(action.by, run.input.requestedBy))
          throw ApplicationFailure.create({
            type: WorkflowErrorTypes.selfApproval,
            message: `${action.by} requested this rotation and cannot approve it: the policy's separationOfDuties rule needs someone else to approve`,
            nonRetryable: true,
          });
        if (run.gates.approvedBy) throw new Error(`already approved by ${run.gates.approvedBy}`);
      },
    },
  );
  setHandler(
    abortUpdate,
    ({ by, reason }) => {
      run.gates.abortedBy = `${by}${reason ? `: ${reason}` : ''}`;
      run.audit('operator-action', { detail: 'abort', by, ...(reason ? { reason } : {}) });
      run.forwardScope.cancel();
      return 'aborting: compensation runs now';
    },
    {
      validator: (_action: OperatorAction) => {
        if (run.status.pointOfNoReturn) {
          throw new Error(
            'cannot abort: the old credential is already being revoked (point of no return); the rotation will finish forward',
          );
        }
        if (run.gates.abortedBy) throw new Error(`already aborted by ${run.gates.abortedBy}`);
      },
    },
  );
  setHandler(
    skipSoakSignal,
    operatorSignal(run, skipSoakSignal.name, ({ by }) => {
      run.gates.skipSoak = true;
      run.audit('operator-action', { detail: 'skip-soak', by });
    }),
  );
  const pause = (paused: boolean) => (action: OperatorAction) => {
    run.writer.paused(paused);
    run.audit('operator-action', { detail: paused ? 'pause' : 'resume', by: action.by });
    run.publish();
  };
  setHandler(pauseSignal, operatorSignal(run, pauseSignal.name, pause(true)));
  setHandler(resumeSignal, operatorSignal(run, resumeSignal.name, pause(false)));
  setHandler(
    retrySignal,
    operatorSignal(run, retrySignal.name, ({ by }) => {
      run.gates.retryRequested = true;
      run.audit('operator-action', { detail: 'retry', by });
    }),
  );
}
