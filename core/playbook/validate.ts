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
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`)).join('');
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
  if (issue.code === 'unrecognized_keys')
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; remove or fix the spelling`;
  return issue.message;
}

/** A valid playbook, or every problem found in it. */
export type CheckedPlaybook = { playbook: Playbook } | { problems: PlaybookProblem[] };

/** Validates an already-parsed document; returns the playbook or every problem found. */
export function validatePlaybook(doc: unknown, file: string): CheckedPlaybook {
  const result = playbookSchema.safeParse(doc);
  if (result.success) return { playbook: result.data };
  return {
    problems: result.error.issues.map((issue) => ({
      file,
      path: formatPath(issue.path),
      message: messageOf(issue, doc),
    })),
  };
}
