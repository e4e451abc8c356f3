import { z } from 'zod';

const limit = z.number().int().min(1).max(500);
/** Only what the incident itself reads of a playbook; each rotation validates its whole playbook. */
const targetPlaybook = z.looseObject({
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: z.looseObject({
    secret: z.looseObject({ name: z.string().min(1), store: z.looseObject({ type: z.enum(['vault', 'aws']) }) }),
    credential: z.looseObject({ kind: z.string().min(1) }),
    clusters: z.array(z.looseObject({ name: z.string().min(1), context: z.string().min(1).optional() })),
  }),
});

/**
 * The incident workflow's input as a client may send it: checked before anything starts, so a
 * malformed one fails as `InvalidIncident` naming each field instead of failing workflow tasks.
 */
export const incidentInputSchema = z.looseObject({
  reason: z.string().min(1),
  requestedBy: z.string().min(1),
  compromised: z.boolean(),
  selection: z.string(),
  targets: z
    .array(z.looseObject({ playbook: targetPlaybook, playbookFile: z.string().min(1) }))
    .min(1, 'is empty: the selection matched no playbook')
    .refine(
      (ts) => new Set(ts.map((t) => t.playbook.spec.secret.name)).size === ts.length,
      'name one secret twice: one rotation per secret',
    ),
  concurrency: limit,
  perBackend: limit,
  maxHistoryEvents: z.number().int().min(10).optional(),
});

/** Each problem of an invalid incident input as `path: message`; empty when it is valid. */
export function incidentInputProblems(input: unknown): string[] {
  const r = incidentInputSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
}
