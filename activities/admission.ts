import { Context } from '@temporalio/activity';
import { evaluatePolicy } from '../core/policy/evaluate';
import type { PolicyContext, PolicyRefusal } from '../core/policy/evaluate';
import { storeLockKey } from '../core/policy/lock';
import type { Policy } from '../core/policy/schema';
import type { Playbook } from '../core/playbook/schema';
import { ErrorTypes, permanent } from '../core/failures';

/** What the worker knows that a playbook cannot change: the admin policy and its own defaults. */
export interface AdmissionDeps {
  policy: Policy;
  /** Where the worker's admin database connection and AWS clients go by default. */
  defaults: Pick<PolicyContext, 'defaultDatabase' | 'defaultMariadb' | 'defaultRegion'>;
}

export interface AdmissionInput {
  playbook: Playbook;
  playbookFile?: string | undefined;
  requestedBy: string;
}

/** The policy's verdict on one rotation: names and rules only. */
export interface Admission {
  refusals: PolicyRefusal[];
  /** Key of the store location the rotation locks (see storeLockKey). */
  lockKey: string;
  separationOfDuties: boolean;
}

/** Workflow type that may parent cluster steps. */
export const rotationWorkflowType = 'rotationWorkflow';

/** Builds the activities that decide whether a rotation may run, over the worker's policy. */
export function createAdmissionActivities(deps: AdmissionDeps) {
  return {
    /** Evaluates the admin policy for a rotation at plan, before anything changes. */
    // eslint-disable-next-line @typescript-eslint/require-await -- an activity: always a promise
    async admitRotation(input: AdmissionInput): Promise<Admission> {
      const ctx: PolicyContext = { playbookFile: input.playbookFile, requestedBy: input.requestedBy, ...deps.defaults };
      return {
        refusals: evaluatePolicy(deps.policy, input.playbook, ctx),
        lockKey: storeLockKey(input.playbook.spec.secret.store, deps.defaults.defaultRegion),
        separationOfDuties: deps.policy.separationOfDuties,
      };
    },

    /**
     * Proves a cluster step's parent is a running rotation on this worker's task queue: a workflow
     * started by hand, or by a foreign worker's workflow, never reaches the clusters.
     */
    async verifyRotationParent(parent: { workflowId: string; runId: string }): Promise<void> {
      const ctx = Context.current();
      const d = await ctx.client.workflow.getHandle(parent.workflowId, parent.runId).describe();
      const problems = [
        d.type !== rotationWorkflowType && `its type is ${d.type}, not ${rotationWorkflowType}`,
        d.taskQueue !== ctx.info.taskQueue && `it runs on task queue ${d.taskQueue}, not ${ctx.info.taskQueue}`,
        d.status.name !== 'RUNNING' && `it is ${d.status.name}`,
      ].filter(Boolean);
      if (problems.length > 0)
        throw permanent(
          ErrorTypes.clusterStepWithoutRotation,
          `cluster steps run only as children of a running rotation; parent ${parent.workflowId}: ${problems.join(', ')}`,
        );
    },
  };
}
