import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Playbook } from '../core/playbook/schema';
import { PlaybookError, formatProblem } from '../core/playbook/validate';
import { loadPlaybook } from './playbook-loader';

/** A playbook and the file it came from. */
export interface ScheduledPlaybook {
  file: string;
  playbook: Playbook;
}

/** A playbook directory that cannot be read, or holds an invalid playbook; the message lists every problem. */
export class PlaybookDirError extends Error {
  override name = 'PlaybookDirError';
}

/**
 * Every `*.yaml`/`*.yml` playbook in a directory. All of them must be valid: a sync that silently
 * skipped a broken playbook would delete its schedule.
 */
export async function loadPlaybookDir(dir: string): Promise<ScheduledPlaybook[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (e) {
    throw new PlaybookDirError(
      `rotor: cannot read playbook directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  const problems: string[] = [];
  const loaded: ScheduledPlaybook[] = [];
  for (const n of names) {
    const file = join(dir, n);
    try {
      loaded.push({ file, playbook: await loadPlaybook(file) });
    } catch (e) {
      if (!(e instanceof PlaybookError)) throw e;
      problems.push(...e.problems.map(formatProblem));
    }
  }
  if (problems.length)
    throw new PlaybookDirError(`${problems.join('\n')}\nrotor: nothing was changed; fix the playbooks above first`);
  return loaded;
}
