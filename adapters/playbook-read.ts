/**
 * Reading playbook files, a file or a directory, without validating them. No zod here: the worker
 * validates each file with the schema (./playbook-loader.ts, ./playbook-files.ts), the CLI through
 * its cache of outcomes (cli/playbook-files.ts), which loads the schema only for bytes it has not
 * seen.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Playbook } from '../core/playbook/schema';
import { PlaybookError, formatProblem } from '../core/playbook/problems';

/** A playbook file's bytes; a file that cannot be read is a PlaybookError naming the reason. */
export async function readPlaybookFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new PlaybookError([
      { file, path: '', message: `cannot read playbook: ${(e as NodeJS.ErrnoException).code ?? String(e)}` },
    ]);
  }
}

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
 * Every `*.yaml`/`*.yml` playbook in a directory, in name order, each read by `load` (which throws a
 * PlaybookError for an invalid one). All of them must be valid: a sync that silently skipped a
 * broken playbook would delete its schedule.
 */
export async function readPlaybookDir(
  dir: string,
  load: (file: string) => Promise<Playbook>,
): Promise<ScheduledPlaybook[]> {
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
      loaded.push({ file, playbook: await load(file) });
    } catch (e) {
      if (!(e instanceof PlaybookError)) throw e;
      problems.push(...e.problems.map(formatProblem));
    }
  }
  if (problems.length)
    throw new PlaybookDirError(`${problems.join('\n')}\nrotor: nothing was changed; fix the playbooks above first`);
  return loaded;
}
