import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { ErrorTypes, permanent } from '../core/failures';
import { isRefusedPayload, refusalAdvice, refusalText } from '../core/refused-payload';

/**
 * Refuses an activity whose input the worker's codec refused (core/refused-payload): an activity
 * scheduled by a workflow without rotor's codec key, for example on the attacker's own worker.
 */
export class RefusingActivityInbound implements ActivityInboundCallsInterceptor {
  execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    if (input.args.some(isRefusedPayload)) {
      return Promise.reject(
        permanent(ErrorTypes.unencryptedPayload, `${refusalText(input.args)} as activity input: ${refusalAdvice}`),
      );
    }
    return next(input);
  }
}
