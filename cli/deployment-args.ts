import { z } from 'zod';
import { parseDuration } from '../core/playbook/duration';

// The same shape the worker accepts for ROTOR_DEPLOYMENT_NAME / ROTOR_BUILD_ID (workers/versioning.ts).
const name = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Options shared by `rotor deployment …`, checked after commander parsed them. */
export const deploymentOptionsSchema = z.object({
  deployment: z
    .string()
    .regex(name, '--deployment: letters, digits, ".", "_" and "-", as the workers\' ROTOR_DEPLOYMENT_NAME, e.g. rotor')
    .default(() => process.env['ROTOR_DEPLOYMENT_NAME'] || 'rotor'),
  json: z.boolean().default(false),
  timeout: z
    .string()
    .default('30m')
    .transform((text, ctx) => {
      const ms = parseDuration(text.trim());
      if (ms) return ms;
      ctx.addIssue({
        code: 'custom',
        message: `--timeout: '${text}' is not a duration longer than 0; write e.g. 30m or 2h`,
      });
      return z.NEVER;
    }),
});
export type DeploymentOptions = z.output<typeof deploymentOptionsSchema>;

/** A build id argument (`<build-id>`), as `rotor deployment status` lists them. */
export const buildIdSchema = z
  .string()
  .regex(name, '<build-id>: letters, digits, ".", "_" and "-", as `rotor deployment status` lists them');
