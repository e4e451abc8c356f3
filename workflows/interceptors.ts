/**
 * Where rotor's workflows refuse what the worker's codec refused (core/refused-payload): payloads
 * not encrypted with rotor's codec key, sent by a Temporal client without it. Every workflow type
 * gets these interceptors (workers/bundle.ts registers the module), so a new workflow or handler
 * cannot forget them. Nothing here throws outside a TemporalFailure: a refusal never fails a
 * workflow task, which Temporal would retry forever (the freeze the codec's marker avoids).
 */
import { ApplicationFailure, log, workflowInfo } from '@temporalio/workflow';
import type {
  ActivityInput,
  LocalActivityInput,
  Next,
  QueryInput,
  SignalInput,
  UpdateInput,
  WorkflowExecuteInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptorsFactory,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { ErrorTypes } from '../core/failures';
import { isRefusedPayload, refusalAdvice, refusalText } from '../core/refused-payload';
import { resultMayBeUndefined } from './activity-results';

/** Why `args` are refused, if they are: a refused payload, or (where one is needed) none at all. */
function refusedArgs(args: readonly unknown[], needsOne: boolean): string | undefined {
  if (args.some(isRefusedPayload)) return refusalText(args);
  if (needsOne && args.length === 0) return 'refused a call without input (it needs one encrypted argument)';
  return undefined;
}

const refusal = (what: string, why: string) =>
  ApplicationFailure.create({
    type: ErrorTypes.unencryptedPayload,
    message: `${why} in ${what}: ${refusalAdvice}`,
    nonRetryable: true,
  });

/** Start input, updates and queries are refused; a refused signal reaches its handler without arguments. */
export class RefusingInbound implements WorkflowInboundCallsInterceptor {
  /** A start with refused input fails the run before its first step: the id is not held either. */
  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const why = refusedArgs(input.args, true);
    if (why) return Promise.reject(refusal(`the input of ${workflowInfo().workflowType}`, why));
    return next(input);
  }

  /**
   * Temporal has no way to reject a signal, so the signal is kept but its refused arguments are
   * not: the handler sees none, and every rotor signal handler refuses a signal without its
   * encrypted argument (a signal with no payload needs no codec key either) and says so.
   */
  handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>): Promise<void> {
    const why = refusedArgs(input.args, false);
    if (!why) return next(input);
    log.warn('signal arguments refused', { signal: input.signalName, why });
    return next({ ...input, args: [] });
  }

  validateUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'validateUpdate'>): void {
    const why = refusedArgs(input.args, true);
    if (why) throw refusal(`update ${input.name}`, why);
    next(input);
  }

  /** Validators do not run on replay, or for an update with none: the handler checks again. */
  handleUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>): Promise<unknown> {
    const why = refusedArgs(input.args, true);
    if (why) return Promise.reject(refusal(`update ${input.name}`, why));
    return next(input);
  }

  handleQuery(input: QueryInput, next: Next<WorkflowInboundCallsInterceptor, 'handleQuery'>): Promise<unknown> {
    const why = refusedArgs(input.args, false);
    if (why) return Promise.reject(refusal(`query ${input.queryName}`, why));
    return next(input);
  }
}

/**
 * An activity result the codec refused (an activity completed by id, with a plaintext result, by a
 * client without the key), or no result from an activity that always returns one (completed by id
 * without a payload, which needs no key), becomes a permanent failure of that call, not a value.
 */
export class RefusingOutbound implements WorkflowOutboundCallsInterceptor {
  async scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    return refuseResult(input.activityType, await next(input));
  }

  async scheduleLocalActivity(
    input: LocalActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
  ) {
    return refuseResult(input.activityType, await next(input));
  }
}

function refuseResult(activityType: string, result: unknown): unknown {
  if (isRefusedPayload(result)) throw refusal(`the result of activity ${activityType}`, refusalText([result]));
  if (result === undefined && !resultMayBeUndefined(activityType))
    throw refusal(`activity ${activityType}`, 'refused a completion without a result (it always returns one)');
  return result;
}

/** The factory Temporal calls for every workflow run (see `workflowInterceptorModules`). */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new RefusingInbound()],
  outbound: [new RefusingOutbound()],
});
