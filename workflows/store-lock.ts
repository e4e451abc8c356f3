import { ApplicationFailure, condition, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';

/** Ends a store lock: the rotation holding it is done. */
export const releaseLockSignal = defineSignal('releaseLockSignal');

/**
 * Held by a rotation, as its child, for as long as it runs: its workflow id is the store location
 * (`rotor-lock/vault/secret/apps/x`), so a second rotation of the same location cannot start its
 * own lock while this one runs, whatever its secret's name. Ends on release, or is terminated with
 * its parent.
 */
export async function storeLockWorkflow(input: { key: string; holder: string }): Promise<void> {
  if (!workflowInfo().parent)
    throw ApplicationFailure.create({
      type: 'StoreLockWithoutRotation',
      message: `store lock ${input.key} can only be held by a rotation; start a rotation instead`,
      nonRetryable: true,
    });
  let released = false;
  setHandler(releaseLockSignal, () => void (released = true));
  await condition(() => released);
}
