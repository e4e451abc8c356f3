import { PlaybookError, formatProblem, loadPlaybook } from '../adapters/playbook-loader';
import type { Playbook } from '../core/playbook/schema';
import { PlaybookDirError, loadPlaybookDir } from '../adapters/playbook-files';
import type { ScheduledPlaybook } from '../adapters/playbook-files';
import { CliError } from './exit-codes';

/** Loads a playbook or fails with every problem as `file: path: message` (exit 1). */
export async function loadPlaybookOrFail(file: string): Promise<Playbook> {
  try {
    return await loadPlaybook(file);
  } catch (e) {
    if (e instanceof PlaybookError) throw new CliError(e.problems.map(formatProblem).join('\n'));
    throw e;
  }
}

/** Every playbook in a directory (see loadPlaybookDir); an unreadable or invalid one fails with exit 1. */
export async function loadPlaybookDirOrFail(dir: string): Promise<ScheduledPlaybook[]> {
  try {
    return await loadPlaybookDir(dir);
  } catch (e) {
    if (e instanceof PlaybookDirError) throw new CliError(e.message);
    throw e;
  }
}
