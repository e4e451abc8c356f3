import { isDeepStrictEqual } from 'node:util';
import { PlaybookError, formatProblem } from '../core/playbook/problems';
import type { Playbook } from '../core/playbook/schema';
import { PlaybookDirError, readPlaybookDir, readPlaybookFile } from '../adapters/playbook-read';
import type { ScheduledPlaybook } from '../adapters/playbook-read';
import { CliError } from './exit-codes';
import { sha256, userPlaybookCache } from './playbook-cache';
import type { CachedOutcome, PlaybookCache } from './playbook-cache';

/**
 * Validates bytes for real: YAML, then the schema. zod and the schema load here, on the first file
 * the cache has no outcome for, and not before. The outcome is kept only if JSON carries it exactly
 * (a cached playbook must deep-equal a fresh parse: no `undefined`, -0 or non-plain value lost).
 */
async function validateBytes(bytes: Buffer, file: string): Promise<{ outcome: CachedOutcome; keep: boolean }> {
  const { checkPlaybookText } = await import('../adapters/playbook-loader');
  const checked = checkPlaybookText(bytes.toString('utf8'), file);
  if ('playbook' in checked) {
    const outcome = { playbook: checked.playbook };
    return { outcome, keep: isDeepStrictEqual(JSON.parse(JSON.stringify(outcome)), outcome) };
  }
  // The file's name is added back on every read: the problems must not depend on it otherwise.
  return {
    outcome: { problems: checked.problems.map(({ path, message }) => ({ path, message })) },
    keep: checked.problems.every((p) => p.file === file),
  };
}

/**
 * Reads and validates a playbook file, as adapters/playbook-loader.ts loadPlaybook does and with
 * the same outcome, through this user's cache of outcomes (cli/playbook-cache.ts): bytes this build
 * of the CLI has validated before are not validated again. Throws a PlaybookError naming every
 * problem, and for a file that cannot be read. The worker validates whatever the CLI sends it again.
 */
export async function loadCheckedPlaybook(
  file: string,
  cache: PlaybookCache | undefined = userPlaybookCache(),
): Promise<Playbook> {
  const bytes = await readPlaybookFile(file);
  const key = cache ? sha256(bytes) : '';
  let outcome = cache?.get(key);
  if (!outcome) {
    const fresh = await validateBytes(bytes, file);
    if (fresh.keep) cache?.put(key, fresh.outcome);
    outcome = fresh.outcome;
  }
  if ('problems' in outcome) throw new PlaybookError(outcome.problems.map((p) => ({ file, ...p })));
  return outcome.playbook;
}

/** Loads a playbook or fails with every problem as `file: path: message` (exit 1). */
export async function loadPlaybookOrFail(file: string): Promise<Playbook> {
  try {
    return await loadCheckedPlaybook(file);
  } catch (e) {
    if (e instanceof PlaybookError) throw new CliError(e.problems.map(formatProblem).join('\n'));
    throw e;
  }
}

/** Every playbook in a directory (see readPlaybookDir); an unreadable or invalid one fails with exit 1. */
export async function loadPlaybookDirOrFail(dir: string): Promise<ScheduledPlaybook[]> {
  try {
    return await readPlaybookDir(dir, (file) => loadCheckedPlaybook(file));
  } catch (e) {
    if (e instanceof PlaybookDirError) throw new CliError(e.message);
    throw e;
  }
}
