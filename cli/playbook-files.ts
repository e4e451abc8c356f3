import { isDeepStrictEqual } from 'node:util';
import { PlaybookError, formatProblem } from '../core/playbook/problems';
import type { Playbook } from '../core/playbook/schema';
import { PlaybookDirError, readPlaybookDir, readPlaybookFile } from '../adapters/playbook-read';
import type { ScheduledPlaybook } from '../adapters/playbook-read';
import { CliError } from './exit-codes';
import { userPlaybookCache } from './playbook-cache';
import type { CachedOutcome, PlaybookCache } from './playbook-cache';
import { sha256 } from './sha256';

/**
 * Validates bytes for real, YAML then the schema, and keeps the outcome in `cache` if JSON carries
 * it exactly (a kept playbook must deep-equal a fresh parse: no `undefined`, -0 or non-plain value
 * lost). zod and the schema load here, on the first file with no kept outcome, and not before.
 */
async function validateAndKeep(bytes: Buffer, file: string, cache: PlaybookCache, key: string): Promise<CachedOutcome> {
  const { checkPlaybookText } = await import('../adapters/playbook-loader');
  const checked = checkPlaybookText(bytes.toString('utf8'), file);
  if ('playbook' in checked) {
    const outcome = { playbook: checked.playbook };
    if (isDeepStrictEqual(JSON.parse(JSON.stringify(outcome)), outcome)) cache.put(key, outcome);
    return outcome;
  }
  // The file's name is added back on every read: the problems must not depend on it otherwise.
  const outcome = { problems: checked.problems.map(({ path, message }) => ({ path, message })) };
  if (checked.problems.every((p) => p.file === file)) cache.put(key, outcome);
  return checked;
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
  if (!cache) return (await import('../adapters/playbook-loader')).parsePlaybook(bytes.toString('utf8'), file);
  const key = sha256(bytes);
  const outcome = cache.get(key) ?? (await validateAndKeep(bytes, file, cache, key));
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
