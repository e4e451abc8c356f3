import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
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
  return path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`))
    .join('');
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'Required';
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}; remove or fix the spelling`;
  return issue.message;
}

/** Validates an already-parsed document; returns the playbook or every problem found. */
export function validatePlaybook(doc: unknown, file: string): { playbook: Playbook } | { problems: PlaybookProblem[] } {
  const result = playbookSchema.safeParse(doc);
  if (result.success) return { playbook: result.data };
  return { problems: result.error.issues.map((issue) => ({ file, path: formatPath(issue.path), message: messageOf(issue) })) };
}

/** Parses YAML text into a validated playbook, or throws a PlaybookError naming every problem. */
export function parsePlaybook(text: string, file: string): Playbook {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new PlaybookError(doc.errors.map((e) => ({ file, path: '', message: `YAML: ${e.message.split('\n')[0] ?? e.message}` })));
  }
  const result = validatePlaybook(doc.toJS(), file);
  if ('problems' in result) throw new PlaybookError(result.problems);
  return result.playbook;
}

/** Reads and validates a playbook file; a missing file is reported as a PlaybookError too. */
export async function loadPlaybook(file: string): Promise<Playbook> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PlaybookError([{ file, path: '', message: `cannot read playbook: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
  return parsePlaybook(text, file);
}
