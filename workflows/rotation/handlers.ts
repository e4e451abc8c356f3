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
  setHandler(skipSoakSignal, ({ by }) => {
    run.gates.skipSoak = true;
    run.audit('operator-action', { detail: 'skip-soak', by });
  });
  const pause = (paused: boolean) => (action: OperatorAction) => {
    run.writer.paused(paused);
    run.audit('operator-action', { detail: paused ? 'pause' : 'resume', by: action.by });
    run.publish();
  };
  setHandler(pauseSignal, pause(true));
  setHandler(resumeSignal, pause(false));
  setHandler(retrySignal, ({ by }) => {
    run.gates.retryRequested = true;
    run.audit('operator-action', { detail: 'retry', by });
  });
}
