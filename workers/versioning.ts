/**
 * Worker Versioning: each worker build is a version (deployment name + build id) of one Worker
 * Deployment, and every rotation is pinned to the build that started it. An upgrade that lands
 * while rotations are open (a soak, a 7-day approval, a needs-attention) never replays their
 * histories on new workflow code: old runs finish on the old build, new runs start on the new one
 * once it is made current. This replaces `patched()` for every workflow change after 1.0.
 *
 * Off unless `ROTOR_DEPLOYMENT_NAME` is set. The build id is `ROTOR_BUILD_ID`, or by default a hash
 * of the prebuilt workflow bundle (`ROTOR_WORKFLOW_BUNDLE`), so the same workflow code is always the
 * same build and any change to it is a new one.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { z } from 'zod';

const envSchema = z.object({
  ROTOR_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", e.g. rotor')
    .optional(),
  ROTOR_BUILD_ID: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-", e.g. 1.0.0 or a git sha')
    .optional(),
});

/** The build id of a prebuilt workflow bundle: the same code gives the same id. */
export function bundleBuildId(bundlePath: string): string {
  return `wf-${createHash('sha256').update(readFileSync(bundlePath)).digest('hex').slice(0, 16)}`;
}

/**
 * The worker's deployment options from the environment, or undefined when versioning is off.
 * Fails naming the variable when a value is malformed or when no build id can be had.
 */
export function workerVersioningFromEnv(
  env: NodeJS.ProcessEnv,
  bundlePath: string | undefined,
): WorkerDeploymentOptions | undefined {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${String(issue?.path[0])}: ${issue?.message ?? 'invalid'}`);
  }
  const { ROTOR_DEPLOYMENT_NAME: deploymentName, ROTOR_BUILD_ID: given } = parsed.data;
  if (!deploymentName) {
    if (given) throw new Error('ROTOR_BUILD_ID is set but ROTOR_DEPLOYMENT_NAME is not: set both, or neither');
    return undefined;
  }
  const buildId = given ?? (bundlePath ? bundleBuildId(bundlePath) : undefined);
  if (!buildId)
    throw new Error(
      'ROTOR_DEPLOYMENT_NAME needs a build id: set ROTOR_BUILD_ID, or ROTOR_WORKFLOW_BUNDLE (the id is then its hash)',
    );
  return { version: { deploymentName, buildId }, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' };
}
