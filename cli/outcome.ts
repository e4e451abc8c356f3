import { WorkflowFailedError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { ExitCode } from './exit-codes';
import { WorkflowErrorTypes } from '../core/failures';

/** How a followed rotation ended (or stopped needing only patience). */
export type Outcome =
  | 'rotated'
  | 'rolled-back'
  | 'aborted'
  | 'needs-attention'
  | 'compensation-failed'
  | 'terminated'
  | 'cancelled'
  | 'timed-out'
  | 'failed'
  /** Refused before anything changed: an invalid playbook, the admin policy or the store location's lock. */
  | 'refused';

/** Exit code per outcome: 0 rotated, 2 back on the old credential, 3 a human must look. */
export function exitCodeOf(outcome: Outcome): ExitCode {
  switch (outcome) {
    case 'rotated':
      return ExitCode.ok;
    case 'refused':
      return ExitCode.usage;
    case 'rolled-back':
    case 'aborted':
      return ExitCode.rolledBack;
    default:
      // Terminated or timed-out runs skipped compensation: the store may be half-rotated.
      return ExitCode.attention;
  }
}

/**
 * The innermost cause's message: a rejected update's validator text, or the gRPC reason under a
 * client error. (`rootCause` of @temporalio/common stops at errors that are not TemporalFailures.)
 */
export function innermostMessage(e: unknown): string {
  let cur: unknown = e;
  while (cur instanceof Error && cur.cause instanceof Error) cur = cur.cause;
  return cur instanceof Error ? cur.message : String(cur);
}

/** One line per link of a failure's cause chain, outermost first, without the generic wrapper. */
export function failureChain(err: unknown): string[] {
  const lines: string[] = [];
  let e: unknown = err instanceof WorkflowFailedError ? err.cause : err;
  for (let depth = 0; e && depth < 10; depth++) {
    lines.push(describeFailure(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return lines;
}

function describeFailure(e: unknown): string {
  if (e instanceof ApplicationFailure) return `${e.type ?? 'Error'}: ${e.message}`;
  if (e instanceof ActivityFailure)
    return `activity ${e.activityType}${e.activityId ? ` (id ${e.activityId})` : ''} failed`;
  if (e instanceof TimeoutFailure) return `timeout (${String(e.timeoutType)}): ${e.message}`;
  if (e instanceof TerminatedFailure) return `terminated: ${e.message}`;
  if (e instanceof CancelledFailure) return `cancelled: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** Classifies a closed run's failure; undefined when `err` is not a workflow failure (e.g. a connection error). */
export function outcomeOfFailure(err: unknown): { outcome: Outcome; message: string; chain: string[] } | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const cause = err.cause;
  const chain = failureChain(err);
  const message = cause?.message ?? err.message;
  if (cause instanceof ApplicationFailure) {
    switch (cause.type) {
      case WorkflowErrorTypes.rolledBack:
        return { outcome: 'rolled-back', message, chain };
      case WorkflowErrorTypes.aborted:
        return { outcome: 'aborted', message, chain };
      case WorkflowErrorTypes.compensationFailed:
        return { outcome: 'compensation-failed', message, chain };
      case WorkflowErrorTypes.invalidPlaybook:
      case WorkflowErrorTypes.policyRefused:
      case WorkflowErrorTypes.storeLocked:
        return { outcome: 'refused', message, chain };
    }
  }
  if (cause instanceof TerminatedFailure) return { outcome: 'terminated', message, chain };
  if (cause instanceof CancelledFailure) return { outcome: 'cancelled', message, chain };
  if (cause instanceof TimeoutFailure) return { outcome: 'timed-out', message, chain };
  return { outcome: 'failed', message, chain };
}
