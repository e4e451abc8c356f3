import { z } from 'zod';
import { CliError } from './exit-codes';
import { defaultActor } from './identity';
import { duration } from '../core/playbook/duration';

const text = (flag: string) => z.string().trim().min(1, `${flag} must not be empty`);

/** Options of `rotor rotate`, checked after commander parsed them. */
export const rotateOptionsSchema = z
  .object({
    wait: z.boolean().default(false),
    json: z.boolean().default(false),
    reason: text('--reason').optional(),
    emergency: z.boolean().default(false),
    compromised: z.boolean().default(false),
    requestedBy: text('--requested-by').default(() => defaultActor()),
    /** How long an emergency waits for a running rotation it supersedes. */
    supersedeWait: duration.refine((ms) => ms > 0, '--supersede-wait must be longer than 0, e.g. 10m').optional(),
  })
  .superRefine((o, ctx) => {
    if (o.emergency && !o.reason) {
      ctx.addIssue({
        code: 'custom',
        path: ['reason'],
        message: '--emergency requires --reason: say why the credential cannot wait',
      });
    }
    if (o.compromised && !o.emergency) {
      ctx.addIssue({ code: 'custom', path: ['compromised'], message: '--compromised requires --emergency' });
    }
  });
export type RotateOptions = z.output<typeof rotateOptionsSchema>;

/** `--by` and `--reason` of the operator commands; every action is attributed. */
export const operatorOptionsSchema = z.object({
  by: text('--by').default(() => defaultActor()),
  reason: text('--reason').optional(),
  json: z.boolean().default(false),
});
export type OperatorOptions = z.output<typeof operatorOptionsSchema>;

export const watchOptionsSchema = z.object({ json: z.boolean().default(false) });
export type WatchOptions = z.output<typeof watchOptionsSchema>;

/** A secret name or a workflow id as given on the command line. */
export const targetSchema = z.string().trim().min(1, 'name a secret or a workflow id');

/** Parses with `schema` or throws a usage CliError listing every problem (messages name the flags). */
export function parseArgs<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new CliError(result.error.issues.map((i) => `rotor: ${i.message}`).join('\n'));
}
