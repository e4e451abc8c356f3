import { Context } from '@temporalio/activity';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { issueGrant } from '../adapters/admission-token';
import { evictSquatter } from '../adapters/temporal/rotation-squatters';
import type { IdHolder } from '../adapters/temporal/rotation-squatters';
import type { Keyring } from '../adapters/keys';
import type { AdmissionGrant, RotationRef } from '../core/contracts';
import { evaluatePolicy } from '../core/policy/evaluate';
import type { PolicyContext, PolicyRefusal } from '../core/policy/evaluate';
import { compromiseNeedsApproval, compromiseRefusals } from '../core/policy/compromise';
import { storeLockKey, storeLockWorkflowId } from '../core/policy/lock';
import { commandSandboxRefusals, needsCommandSandbox } from '../core/policy/rules/command-sandbox';
import { sandboxStatus } from '../adapters/canaries/sandbox';
import type { SandboxStatus } from '../adapters/canaries/sandbox';
import type { Policy } from '../core/policy/schema';
import type { Playbook, Store } from '../core/playbook/schema';
import { ErrorTypes, permanent } from '../core/failures';
import { foreignRunProblems } from '../core/foreign-run';
import type { RotationInput } from '../core/status';
import { identityAdvice, startProblem } from './identity';
import type { RunLister } from './identity';

/** What the worker knows that a playbook cannot change: the admin policy and its own defaults. */
export interface AdmissionDeps {
  policy: Policy;
  /** Where the worker's admin database connection and AWS clients go by default. */
  defaults: Pick<PolicyContext, 'defaultDatabase' | 'defaultMariadb' | 'defaultRegion'>;
  /** Whether this worker can create the command-canary sandbox; default: probe bwrap on PATH. */
  sandboxStatus?: () => Promise<SandboxStatus>;
  /** Worker-only keys the admission grants are made with (adapters/admission-token.ts). */
  keys: Keyring;
  /** Worker-only keys rotor's controller attests with (adapters/controller-attestation.ts); without them `identity: kubernetes` admits nothing. */
  attestationKeys?: Keyring | undefined;
  /** Where an attested start looks for an earlier run of its request; default Temporal's visibility. */
  listRuns?: RunLister;
}

export interface AdmissionInput {
  playbook: Playbook;
  playbookFile?: string | undefined;
  requestedBy: string;
  /** The `RotationRequest`'s namespace, when rotor's controller started the rotation. */
  namespace?: string | undefined;
  /** The rest of the rotation's input, which an attestation covers (`identity: kubernetes`). */
  trigger?: RotationInput['trigger'];
  reason?: string | undefined;
  emergency?: RotationInput['emergency'];
  attestation?: RotationInput['attestation'];
}

/** The policy's verdict on one rotation: names and rules only. */
export interface Admission {
  refusals: PolicyRefusal[];
  /** Key of the store location the rotation locks (see storeLockKey). */
  lockKey: string;
  separationOfDuties: boolean;
  /** From the policy (`compromise.approval: required`): a compromised rotation still waits at its approval gate. */
  compromiseApproval?: 'required';
  /** What the side-effecting activities check; absent when the policy refused. */
  grant?: AdmissionGrant;
  /** Set under `identity: kubernetes`: operator actions must then come through rotor's controller. */
  identity?: 'kubernetes';
}

/** Workflow type that may parent cluster steps. */
export const rotationWorkflowType = 'rotationWorkflow';
/** Workflow type of the lock a rotation holds on its store location. */
const storeLockWorkflowType = 'storeLockWorkflow';

/** Why the described run is not a rotor rotation of this worker in `status` (empty: it is). */
function notARotation(d: WorkflowExecutionDescription, status: string): string[] {
  return [
    ...foreignRunProblems(d, { type: rotationWorkflowType, taskQueue: Context.current().info.taskQueue }),
    ...(d.status.name !== status ? [`it is ${d.status.name}, not ${status}`] : []),
  ];
}

const describeRun = (run: RotationRef) =>
  Context.current().client.workflow.getHandle(run.workflowId, run.runId).describe();

/** The refusal of a start rotor's controller did not vouch for. */
const identityRefusal = (problem: string): PolicyRefusal => ({
  path: 'rotation start',
  rule: 'identity',
  message: `not started through rotor's controller: ${problem}; ${identityAdvice}`,
  fix: 'set identity: claims, for a single-tenant policy only',
});

/** Builds the activities that decide whether a rotation may run, over the worker's policy. */
export function createAdmissionActivities(deps: AdmissionDeps) {
  return {
    /**
     * Evaluates the admin policy for a rotation at plan, before anything changes, and grants the
     * calling run (only a rotation of this worker's task queue may ask) the admitted plan.
     */
    async admitRotation(input: AdmissionInput): Promise<Admission> {
      const info = Context.current().info;
      const caller = info.workflowExecution;
      const refuse = (why: string) =>
        permanent(ErrorTypes.notAdmitted, `admission is given to running rotations of this worker only; ${why}`);
      if (!caller) throw refuse('it was not called by a workflow');
      const described = await describeRun(caller);
      const problems = notARotation(described, 'RUNNING');
      if (problems.length > 0) throw refuse(`${caller.workflowId} (${info.workflowType}): ${problems.join(', ')}`);
      const kubernetes = deps.policy.identity === 'kubernetes';
      const unattested = !kubernetes
        ? undefined
        : deps.attestationKeys
          ? await startProblem(
              deps.attestationKeys,
              { ...input, trigger: input.trigger ?? 'manual' },
              described,
              deps.listRuns,
            )
          : 'this worker holds no controller attestation keys';
      const ctx: PolicyContext = {
        playbookFile: input.playbookFile,
        requestedBy: input.requestedBy,
        ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
        ...deps.defaults,
      };
      const spec = input.playbook.spec;
      // A command canary the worker could not sandbox is refused here, before anything changes.
      const sandbox = needsCommandSandbox(deps.policy, input.playbook)
        ? await (deps.sandboxStatus ?? (() => sandboxStatus(deps.policy.commandSandbox)))()
        : undefined;
      const refusals = [
        ...(unattested ? [identityRefusal(unattested)] : []),
        ...evaluatePolicy(deps.policy, input.playbook, ctx),
        ...compromiseRefusals(deps.policy, input.requestedBy, input.emergency?.compromised === true),
        ...commandSandboxRefusals(deps.policy, input.playbook, sandbox?.usable === false ? sandbox.reason : undefined),
      ];
      return {
        refusals,
        lockKey: storeLockKey(spec.secret.store, deps.defaults.defaultRegion),
        separationOfDuties: deps.policy.separationOfDuties,
        ...(compromiseNeedsApproval(deps.policy) ? { compromiseApproval: 'required' as const } : {}),
        ...(kubernetes ? { identity: 'kubernetes' as const } : {}),
        ...(refusals.length === 0
          ? {
              grant: issueGrant(deps.keys, caller, {
                store: spec.secret.store,
                credential: spec.credential,
                clusters: spec.clusters,
                canaries: spec.canaries,
              }),
            }
          : {}),
      };
    },

    /**
     * Frees a store location's lock id (`rotor-lock/<location>`, from the admitted store: never an
     * id the input names) from a workflow that is not rotor's store lock on this task queue: any
     * Temporal client can start a workflow under that id on a queue of its own and so hold off
     * every rotation of the location. That run, and only that run, is terminated; a lock of
     * rotor's is left alone (another rotation holds the location).
     */
    async evictLockSquatter(input: { admission: AdmissionGrant; store: Store }): Promise<IdHolder> {
      const workflowId = storeLockWorkflowId(storeLockKey(input.store, deps.defaults.defaultRegion));
      const taskQueue = Context.current().info.taskQueue;
      return evictSquatter(
        Context.current().client,
        workflowId,
        { type: storeLockWorkflowType, taskQueue },
        (why) =>
          `rotor: ${workflowId} is the id of rotor's lock on this store location, held by a workflow that is not rotor's (${why})`,
      );
    },

    /**
     * Proves a run started with `resume` continues a rotation of this worker: the run it continued
     * from (same workflow id) was a rotation on this task queue that continued as new. A foreign
     * workflow can continue as new into rotationWorkflow; its continuation is refused here.
     */
    async verifyContinuation(previous: RotationRef): Promise<void> {
      const problems = notARotation(await describeRun(previous), 'CONTINUED_AS_NEW');
      if (problems.length > 0)
        throw permanent(
          ErrorTypes.notAdmitted,
          `a resumed rotation must continue a rotation of this worker; the run it continues (${previous.workflowId} ${previous.runId}): ${problems.join(', ')}; nothing was changed`,
        );
    },

    /**
     * Proves a cluster step's parent is a running rotation on this worker's task queue: a workflow
     * started by hand, or by a foreign worker's workflow, never reaches the clusters.
     */
    async verifyRotationParent(parent: RotationRef): Promise<void> {
      const problems = notARotation(await describeRun(parent), 'RUNNING');
      if (problems.length > 0)
        throw permanent(
          ErrorTypes.clusterStepWithoutRotation,
          `cluster steps and store locks run only as children of a running rotation of this worker; parent ${parent.workflowId}: ${problems.join(', ')}`,
        );
    },
  };
}
