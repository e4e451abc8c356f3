import { z } from 'zod';
import { parseLabelSelector } from '../core/incident/select';
import { defaultActor } from './identity';

const text = (flag: string) => z.string().trim().min(1, `${flag} must not be empty`);
const count = (flag: string, fallback: number) =>
  z.coerce
    .number()
    .int(`${flag} must be a whole number, e.g. 4`)
    .min(1, `${flag} must be at least 1`)
    .max(500, `${flag} must be at most 500`)
    .default(fallback);

/** Options of `rotor incident start`, checked after commander parsed them. */
export const incidentStartOptionsSchema = z.object({
  selector: text('--selector')
    .transform((s, ctx) => {
      try {
        return parseLabelSelector(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  store: text('--store').optional(),
  cluster: text('--cluster').optional(),
  readableBy: z
    .string()
    .regex(
      /^(user:.+|group:.+|serviceaccount:[^/]+\/.+)$/,
      '--readable-by must be user:<name>, group:<name> or serviceaccount:<namespace>/<name>',
    )
    .optional(),
  dryRun: z.boolean().default(false),
  reason: z
    .string({ error: '--reason is required: say why these credentials cannot wait' })
    .trim()
    .min(1, '--reason must not be empty'),
  compromised: z.boolean().default(false),
  concurrency: count('--concurrency', 4),
  perBackend: count('--per-backend', 2),
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, '--id must be letters, digits, ., _ or - (at most 100)')
    .optional(),
  requestedBy: text('--requested-by').default(() => defaultActor()),
  wait: z.boolean().default(false),
  json: z.boolean().default(false),
});
export type IncidentStartOptions = z.output<typeof incidentStartOptionsSchema>;

/** An incident id as given on the command line. */
export const incidentIdSchema = z.string().trim().min(1, 'name an incident id (rotor incident start printed it)');
