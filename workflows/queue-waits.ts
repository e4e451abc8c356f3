import { queueWaits } from './profiles';

/** What a call's schedule-to-start timeouts so far leave it: the bound of a started step, and the time queued. */
export interface QueueState {
  /** Workflow time by which the step must end, once a worker started it (its scheduleToClose from then). */
  deadline: number | undefined;
  /** Time spent in schedule-to-start timeouts so far. */
  queuedMs: number;
}

/** One schedule-to-start timeout of a call. */
export interface QueueTimeout {
  /** An earlier attempt of the call ran (the timeout has a cause). */
  ranBefore: boolean;
  /** Workflow time the call was scheduled, and now. */
  scheduledAt: number;
  now: number;
  /** The call's scheduleToClose (undefined: none) and schedule-to-start timeouts. */
  closeMs: number | undefined;
  waitedMs: number;
}

/** Whether to schedule the call again and with what scheduleToClose, or let it fail. */
export type QueueVerdict = { again: true; closeMs: number | undefined; state: QueueState } | { again: false };

/**
 * After a schedule-to-start timeout (profiles.ts, `queueWaits`): a step no worker ever started is
 * scheduled again with its whole `stageMs`; once a worker started it, only with what is left of
 * the scheduleToClose it was started under, and it fails when under a second is; a forward step
 * (`forward`: bounded attempts) fails once `queueWaits.budgetMs` went on such waits.
 */
export function afterQueueTimeout(
  step: { stageMs: number | undefined; forward: boolean },
  state: QueueState,
  t: QueueTimeout,
): QueueVerdict {
  const deadline =
    t.ranBefore && t.closeMs !== undefined ? (state.deadline ?? t.scheduledAt + t.closeMs) : state.deadline;
  const closeMs = deadline === undefined ? step.stageMs : deadline - t.now;
  const queuedMs = state.queuedMs + t.waitedMs;
  if ((step.forward && queuedMs >= queueWaits.budgetMs) || (closeMs !== undefined && closeMs < 1_000))
    return { again: false };
  return { again: true, closeMs, state: { deadline, queuedMs } };
}
