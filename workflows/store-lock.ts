import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RotationActivities } from '../activities/index';
import { WorkflowErrorTypes } from '../core/failures';
import { profiles } from './profiles';
import { rootMessage } from './saga';

/**
 * Ends a store lock: the rotation holding it is done. It names the holder's run, and only the
 * holder's own (encrypted) signal ends the lock: a client without rotor's codec key, or another
 * rotation, cannot release a lock it does not hold.
 */
export const releaseLockSignal = defineSignal<[{ holderRunId: string }]>('releaseLockSignal');

/**
 * The patch that made `releaseLockSignal` carry and check the holder's run id. Which runs need it:
 * locks started before it, released by a signal without arguments (the recorded store-lock
 * histories in test/histories, and a lock of an older build moved to this one), replay as they
 * ran; every lock started since checks its holder.
 */
export const releaseNamesHolderPatch = 'release-lock-names-holder';

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
  const checksHolder = patched(releaseNamesHolderPatch);
  let released = false;
  setHandler(releaseLockSignal, (release?: { holderRunId?: unknown }) => {
    if (!checksHolder || release?.holderRunId === parent.runId) {
      released = true;
      return;
    }
    // Not the holder's signal: a refused (unencrypted) payload reaches here without arguments.
    log.warn('store lock release refused: the signal does not name the holder run', {
      key: input.key,
      holder: parent.workflowId,
    });
  });
  // A cancel request does not end the lock either (any Temporal client can send one): it ends on
  // its holder's release, or with its holder (the parent close policy terminates it).
  await CancellationScope.nonCancellable(() => condition(() => released));
}
