import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RotationActivities } from '../activities/index';
import { WorkflowErrorTypes } from '../core/failures';
import { profiles } from './profiles';
import { rootMessage } from './saga';

/** Ends a store lock: the rotation holding it is done. */
export const releaseLockSignal = defineSignal('releaseLockSignal');

/**
 * Held by a rotation, as its child, for as long as it runs: its workflow id is the store location
 * (`rotor-lock/vault/secret/apps/x`), so a second rotation of the same location cannot start its
 * own lock while this one runs, whatever its secret's name. Ends on release, or is terminated with
 * its parent. Only a running rotation of this task queue may hold one: a foreign workflow (another
 * task queue's code) could otherwise hold another team's location and stop its rotations.
 */
export async function storeLockWorkflow(input: { key: string; holder: string }): Promise<void> {
  const parent = workflowInfo().parent;
  const refuse = (why: string) =>
    ApplicationFailure.create({
      type: WorkflowErrorTypes.storeLockWithoutRotation,
      message: `store lock ${input.key} can only be held by a rotation (${why}); start a rotation instead`,
      nonRetryable: true,
    });
  if (!parent) throw refuse('it has no parent');
  try {
    await proxyActivities<RotationActivities>(profiles.store).verifyRotationParent({
      workflowId: parent.workflowId,
      runId: parent.runId,
    });
  } catch (e) {
    if (e instanceof ActivityFailure) throw refuse(rootMessage(e));
    throw e;
  }
  let released = false;
  setHandler(releaseLockSignal, () => void (released = true));
  await condition(() => released);
}
