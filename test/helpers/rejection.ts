import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';

/** The ApplicationFailure a workflow update was rejected with; fails the test when it was not rejected. */
export async function rejection(call: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await call;
  } catch (e) {
    if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) return e.cause;
    throw e;
  }
  throw new Error('the update was expected to be rejected');
}
