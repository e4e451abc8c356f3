/**
 * How a playbook's problems are named and printed. Kept apart from the schema (./validate.ts), which
 * imports zod: the CLI prints a cached outcome's problems (cli/playbook-cache.ts) without loading zod.
 */

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

/** A problem as the CLI prints it: `file: path: message`, or `file: message` at the top level. */
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
