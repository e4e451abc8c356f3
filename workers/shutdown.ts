/**
 * How the worker stops. On SIGTERM (or SIGINT) the Temporal runtime shuts the worker down: it stops
 * polling at once, lets running activities finish for ROTOR_SHUTDOWN_GRACE_S seconds, then cancels
 * the rest, whose attempts fail and are retried by another worker of the task queue (handed back).
 * Workflow tasks need no grace: a workflow continues from its history on any worker. With
 * ROTOR_SHUTDOWN_FORCE_S the worker gives up waiting after that many seconds and the process exits
 * with an error (the SDK's GracefulShutdownPeriodExpiredError), so a pod's terminationGracePeriodSeconds
 * above it is never hit. Defaults: no grace (the SDK's), no forced stop.
 */
import { z } from 'zod';
import { parseEnvVars } from './env-vars';

/** The SDK Worker options of the shutdown, in milliseconds. */
export interface ShutdownSettings {
  shutdownGraceTime: number;
  shutdownForceTime?: number;
}

const seconds = z.coerce.number().int().min(0).max(86_400);
const schema = z
  .object({ ROTOR_SHUTDOWN_GRACE_S: seconds.default(0), ROTOR_SHUTDOWN_FORCE_S: seconds.min(1).optional() })
  .superRefine((e, ctx) => {
    if (e.ROTOR_SHUTDOWN_FORCE_S !== undefined && e.ROTOR_SHUTDOWN_FORCE_S <= e.ROTOR_SHUTDOWN_GRACE_S)
      ctx.addIssue({
        code: 'custom',
        path: ['ROTOR_SHUTDOWN_FORCE_S'],
        message: `must exceed ROTOR_SHUTDOWN_GRACE_S (${e.ROTOR_SHUTDOWN_GRACE_S}): activities get the grace first`,
      });
  });

/** Reads the shutdown settings; a bad value fails naming the variable, before the worker connects. */
export function shutdownFromEnv(env: NodeJS.ProcessEnv = process.env): ShutdownSettings {
  const parsed = parseEnvVars(schema, env, ['ROTOR_SHUTDOWN_GRACE_S', 'ROTOR_SHUTDOWN_FORCE_S'], 'whole seconds');
  const { ROTOR_SHUTDOWN_GRACE_S: grace, ROTOR_SHUTDOWN_FORCE_S: force } = parsed;
  return { shutdownGraceTime: grace * 1000, ...(force !== undefined ? { shutdownForceTime: force * 1000 } : {}) };
}
