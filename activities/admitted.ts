/**
 * Defence in depth behind the workflows' own checks: every activity that reads or changes a store,
 * a credential's target or a cluster runs only for an admitted rotation. It is wrapped here, in one
 * place, so an activity added later is guarded unless it is named open on purpose: its input must
 * carry the grant the admission activity issued (AdmissionGrant), every store, credential, cluster
 * target and canary the input names must be covered by the grant's tags, and the activity must be
 * called by the admitted run itself or by a cluster-batch child of it on this task queue. Anything
 * else fails NotAdmitted before the activity body runs.
 */
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { grantProblems } from '../adapters/admission-token';
import type { GrantScope } from '../adapters/admission-token';
import type { Keyring } from '../adapters/keys';
import type { AdmissionGrant } from '../core/contracts';
import { ErrorTypes, permanent } from '../core/failures';
import type { Canary, ClusterTarget, Credential, Store } from '../core/playbook/schema';

/** Activities that run before admission or only read the policy: they change nothing and read no secret. */
export const openActivities = [
  'checkPlaybook',
  'admitRotation',
  'verifyRotationParent',
  'verifyContinuation',
  // Checks that rotor's controller vouches for an operator action: reads run metadata only.
  'verifyOperatorAction',
  // Reads the status of an incident's running rotations (phase, attention text): no value, no change.
  'rotationsNeedingAttention',
  // Terminates a workflow that is not rotor's under a rotation id, for an incident of this worker only.
  'evictRotationSquatter',
] as const;

const runRef = z.object({ workflowId: z.string().min(1), runId: z.string().min(1) });
const grantSchema = z.object({
  run: runRef,
  keyId: z.string(),
  store: z.string(),
  credential: z.string(),
  clusters: z.record(z.string(), z.string()),
  canaries: z.record(z.string(), z.string()),
});

/** The parts an activity input names, found by the contracts' field names (core/contracts.ts). */
function scopeOf(input: Record<string, unknown>): GrantScope {
  const versions = input['versions'] as { store?: Store } | undefined;
  const cluster = input['cluster'] as ClusterTarget | undefined;
  return {
    store: (input['store'] as Store | undefined) ?? versions?.store,
    credential: input['credential'] as Credential | undefined,
    clusters: [...((input['clusters'] as ClusterTarget[] | undefined) ?? []), ...(cluster ? [cluster] : [])],
    canary: input['canary'] as Canary | undefined,
  };
}

/** Who may use a grant: the admitted run, or a child of it on this task queue (a cluster batch). */
async function callerProblem(grant: AdmissionGrant): Promise<string | undefined> {
  const ctx = Context.current();
  const caller = ctx.info.workflowExecution;
  if (!caller) return 'it was not called by a workflow';
  if (caller.workflowId === grant.run.workflowId && caller.runId === grant.run.runId) return undefined;
  const d = await ctx.client.workflow.getHandle(caller.workflowId, caller.runId).describe();
  const parent = d.parentExecution;
  if (
    parent?.workflowId === grant.run.workflowId &&
    parent.runId === grant.run.runId &&
    d.taskQueue === ctx.info.taskQueue
  )
    return undefined;
  return `it was called by ${caller.workflowId} (${ctx.info.workflowType}), which is neither the admitted run ${grant.run.workflowId} nor its child on task queue ${ctx.info.taskQueue}`;
}

/** Fails NotAdmitted unless `input` carries a grant covering it and the caller is the admitted run. */
export async function checkAdmitted(keys: Keyring, activity: string, input: unknown): Promise<void> {
  const refuse = (why: string) =>
    permanent(
      ErrorTypes.notAdmitted,
      `${activity} refused, nothing was changed: ${why}; only a rotation admitted by this worker's policy may run it (rotor rotate <playbook>)`,
    );
  if (!input || typeof input !== 'object') throw refuse('its input is not an object');
  const record = input as Record<string, unknown>;
  const parsed = grantSchema.safeParse(record['admission']);
  if (!parsed.success) throw refuse('its input carries no admission grant (field admission)');
  const grant = parsed.data;
  const problems = grantProblems(keys, grant, scopeOf(record));
  if (problems.length) throw refuse(`the admission grant does not cover it: ${problems.join('; ')}`);
  const caller = await callerProblem(grant);
  if (caller) throw refuse(caller);
}

type Activity = (...args: never[]) => Promise<unknown>;

/**
 * `acts` with every activity not in `open` wrapped by `checkAdmitted` on its first argument. The
 * wrapped functions keep their names and types.
 */
export function requireAdmission<T extends Record<string, Activity>>(
  keys: Keyring,
  acts: T,
  open: readonly string[] = openActivities,
): T {
  const guarded = Object.entries(acts).map(([name, fn]) => {
    if (open.includes(name)) return [name, fn];
    const wrapped = async (...args: Parameters<typeof fn>) => {
      await checkAdmitted(keys, name, args[0]);
      return fn(...args);
    };
    Object.defineProperty(wrapped, 'name', { value: name });
    return [name, wrapped];
  });
  return Object.fromEntries(guarded) as T;
}
