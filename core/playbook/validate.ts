import type { z } from 'zod';
import { playbookSchema } from './schema';
import type { Playbook } from './schema';

/** One problem in a playbook file, with its path inside the document (e.g. `spec.clusters[1].context`). */
export interface PlaybookProblem {
  file: string;
  path: string;
  message: string;
}

/** Thrown when a playbook is invalid; its message lists every problem as `file: path: message`. */
export class PlaybookError extends Error {
  constructor(readonly problems: PlaybookProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PlaybookError';
  }
}

export function formatProblem(p: PlaybookProblem): string {
  return `${p.file}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** `['spec','clusters',1,'context']` → `spec.clusters[1].context`. */
export function formatPath(path: readonly PropertyKey[]): string {
  const plain = (k: string) => /^[A-Za-z_][\w-]*$/.test(k);
  return path
    .map((k, i) => {
      if (typeof k === 'number') return `[${k}]`;
      const key = String(k);
      // A key that is empty or has odd characters is quoted, so the path still points at it.
      return plain(key) ? `${i === 0 ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
    })
    .join('');
}

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
