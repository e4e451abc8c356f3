import { parseDocument } from 'yaml';
import type { Playbook } from '../core/playbook/schema';
import { PlaybookError, validatePlaybook } from '../core/playbook/validate';
import type { CheckedPlaybook } from '../core/playbook/validate';
import { readPlaybookFile } from './playbook-read';

export { PlaybookError, formatPath, formatProblem, validatePlaybook } from '../core/playbook/validate';
export type { PlaybookProblem } from '../core/playbook/validate';

/** Parses YAML text and validates it: the playbook, or every problem (YAML's, then the schema's). */
export function checkPlaybookText(text: string, file: string): CheckedPlaybook {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({ file, path: '', message: `YAML: ${e.message.split('\n')[0] ?? e.message}` })),
    };
  }
  return validatePlaybook(doc.toJS(), file);
}

/** Parses YAML text into a validated playbook, or throws a PlaybookError naming every problem. */
export function parsePlaybook(text: string, file: string): Playbook {
  const result = checkPlaybookText(text, file);
  if ('problems' in result) throw new PlaybookError(result.problems);
  return result.playbook;
}

/** Reads and validates a playbook file; a missing file is reported as a PlaybookError too. */
export async function loadPlaybook(file: string): Promise<Playbook> {
  return parsePlaybook((await readPlaybookFile(file)).toString('utf8'), file);
}
