import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { Playbook } from '../core/playbook/schema';
import { PlaybookError, validatePlaybook } from '../core/playbook/validate';

export { PlaybookError, formatPath, formatProblem, validatePlaybook } from '../core/playbook/validate';
export type { PlaybookProblem } from '../core/playbook/validate';

/** Parses YAML text into a validated playbook, or throws a PlaybookError naming every problem. */
export function parsePlaybook(text: string, file: string): Playbook {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new PlaybookError(
      doc.errors.map((e) => ({ file, path: '', message: `YAML: ${e.message.split('\n')[0] ?? e.message}` })),
    );
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
    throw new PlaybookError([
      { file, path: '', message: `cannot read playbook: ${(e as NodeJS.ErrnoException).code ?? String(e)}` },
    ]);
  }
  return parsePlaybook(text, file);
}
