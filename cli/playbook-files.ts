import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PlaybookError, formatProblem, loadPlaybook } from '../playbooks/loader';
import type { Playbook } from '../playbooks/schema';
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

/**
 * Every `*.yaml`/`*.yml` playbook in a directory. All of them must be valid: a sync that silently
 * skipped a broken playbook would delete its schedule.
 */
export async function loadPlaybookDir(dir: string): Promise<{ file: string; playbook: Playbook }[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (e) {
    throw new CliError(
      `rotor: cannot read playbook directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  const problems: string[] = [];
  const loaded: { file: string; playbook: Playbook }[] = [];
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
    throw new CliError(`${problems.join('\n')}\nrotor: nothing was changed; fix the playbooks above first`);
  return loaded;
}
