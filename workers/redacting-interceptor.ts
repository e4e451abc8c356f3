import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { redactTail } from '../adapters/redact';
import { heldSecrets, withSecretScope } from '../adapters/secret-scope';

/** Longest failure message an activity reports; cut after redaction, never before. */
const MAX_MESSAGE = 2000;

/** Redacts `secrets` from an error's message and stack, and from its causes, in place. */
export function redactError(e: unknown, secrets: readonly string[]): unknown {
  for (let err: unknown = e, depth = 0; err instanceof Error && depth < 5; err = err.cause, depth++) {
    err.message = redactTail(err.message, secrets, MAX_MESSAGE);
    if (err.stack) err.stack = redactTail(err.stack, secrets, MAX_MESSAGE * 2);
  }
  return e;
}

/**
 * Runs each activity in its own secret scope and redacts every value it held from the error it
 * throws, whichever adapter the error came from.
 */
export class RedactingActivityInbound implements ActivityInboundCallsInterceptor {
  execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    return withSecretScope(async () => {
      try {
        return await next(input);
      } catch (e) {
        throw redactError(e, heldSecrets());
      }
    });
  }
}
