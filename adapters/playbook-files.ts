import type { ScheduledPlaybook } from './playbook-read';
import { readPlaybookDir } from './playbook-read';
import { loadPlaybook } from './playbook-loader';

export { PlaybookDirError } from './playbook-read';
export type { ScheduledPlaybook } from './playbook-read';

/**
 * Every `*.yaml`/`*.yml` playbook in a directory, each validated by the schema (see readPlaybookDir).
 * All of them must be valid: a sync that silently skipped a broken playbook would delete its schedule.
 */
export function loadPlaybookDir(dir: string): Promise<ScheduledPlaybook[]> {
  return readPlaybookDir(dir, loadPlaybook);
}
