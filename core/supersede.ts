/**
 * An emergency RotationRequest superseding a running rotation of the same playbook (issue 24,
 * `identity: kubernetes`): what rotor's controller tells the running run, and what the request's
 * status says happened to it. Pure: the controller (workers/controller/supersede.ts) does the I/O.
 */

/** How rotor made way for the emergency: it aborted the run, or waited for a run past the point of no return. */
export type SupersedeHow = 'Aborted' | 'WaitedPastPointOfNoReturn';

/** What a RotationRequest's status records of the run its emergency superseded. */
export interface SupersededRun {
  workflowId: string;
  runId: string;
  how: SupersedeHow;
  /** `Running` while rotor waits for it; then how it ended (Rotated, RolledBack, Failed, Terminated, ...). */
  outcome: string;
}

/** The abort's reason, as the superseded run records it (its failure names who and why). */
export function supersedeReason(request: string, user: string, reason: string | undefined): string {
  return `superseded by emergency request ${request} of ${user}: ${reason ?? 'no reason given'}`;
}

/**
 * What the running run's answer to the abort means: it is aborting (now, or already by this
 * request: a repeated abort is deduplicated by its update id), it is past the point of no return
 * (the emergency waits for it to finish forward), or the abort was refused for another reason
 * (the emergency does not start; the answer says why).
 */
export function abortAnswer(ok: boolean, answer: string): 'aborting' | 'past-point-of-no-return' | 'refused' {
  if (ok || answer.startsWith('already aborted by')) return 'aborting';
  if (answer.includes('point of no return')) return 'past-point-of-no-return';
  return 'refused';
}

/** A run's end as the request's status names it, from Temporal's execution status name. */
export function endedOutcome(statusName: string): string {
  const names: Record<string, string> = {
    COMPLETED: 'Rotated',
    FAILED: 'RolledBack',
    TERMINATED: 'Terminated',
    CANCELLED: 'Cancelled',
    TIMED_OUT: 'TimedOut',
    CONTINUED_AS_NEW: 'ContinuedAsNew',
  };
  return names[statusName] ?? statusName;
}

/** The `Superseded` condition while rotor waits for `run` to end, and once it has. */
export function supersededCondition(
  run: SupersededRun,
  detail?: string,
): {
  status: 'True' | 'False';
  reason: string;
  message: string;
} {
  const which = `run ${run.runId} of ${run.workflowId}`;
  const more = detail ? `: ${detail}` : '';
  if (run.outcome === 'Running')
    return run.how === 'Aborted'
      ? { status: 'False', reason: 'Aborting', message: `aborted ${which}; waiting for it to roll back${more}` }
      : {
          status: 'False',
          reason: 'WaitingPastPointOfNoReturn',
          message: `${which} is past the point of no return (revoking the old credential): rotor does not abort it and starts the emergency once it has finished${more}`,
        };
  return {
    status: 'True',
    reason: run.how === 'Aborted' ? 'AbortedAndRolledBack' : 'FinishedPastPointOfNoReturn',
    message: `${which} ${run.how === 'Aborted' ? 'was aborted' : 'finished forward'} and ended ${run.outcome}${more}`,
  };
}
