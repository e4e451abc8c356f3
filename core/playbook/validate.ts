import type { z } from 'zod';
import { playbookSchema } from './schema';
import type { Playbook } from './schema';
import { formatPath } from './problems';
import type { PlaybookProblem } from './problems';

export { PlaybookError, formatPath, formatProblem } from './problems';
export type { PlaybookProblem } from './problems';

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
    doc,
  );
}

function messageOf(issue: z.core.$ZodIssue, doc: unknown): string {
  const missing =
    ['invalid_type', 'invalid_value', 'invalid_union'].includes(issue.code) && valueAt(doc, issue.path) === undefined;
  if (missing) return 'Required';
  return issue.message;
}

/** A valid playbook, or every problem found in it. */
export type CheckedPlaybook = { playbook: Playbook } | { problems: PlaybookProblem[] };

/** Validates an already-parsed document; returns the playbook or every problem found. */
export function validatePlaybook(doc: unknown, file: string): CheckedPlaybook {
  const result = playbookSchema.safeParse(doc);
  if (result.success) return { playbook: result.data };
  return { problems: problemsOf(result.error.issues, doc, file) };
}

/** zod issues as problems with their document path, `Required` for missing fields. */
export function problemsOf(issues: readonly z.core.$ZodIssue[], doc: unknown, file: string): PlaybookProblem[] {
  return issues.flatMap((issue) =>
    // One problem per unknown field, at the field's own path (the top level has no path of its own).
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => ({
          file,
          path: formatPath([...issue.path, k]),
          message: 'unknown field; remove it or fix the spelling',
        }))
      : [{ file, path: formatPath(issue.path), message: messageOf(issue, doc) }],
  );
}
