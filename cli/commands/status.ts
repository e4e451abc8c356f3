import { rotationWorkflowId } from '../../core/ids';
import { Command } from 'commander';
import { uiLink } from '../../adapters/temporal/connection';
import { withClient } from '../client';
import { ExitCode } from '../exit-codes';
import { fleetStatus } from '../../inspect/fleet';
import { out } from '../output';
import { loadPlaybookDirOrFail } from '../playbook-files';
import { runAction } from './run';

const days = (ms: number) => `${Math.round(ms / 86_400_000)}d`;

/** `rotor status [dir] [--json]`: the fleet — last rotation, outcome, next due, overdue, running now. */
export function statusCommand(): Command {
  return new Command('status')
    .description('per secret: last rotation and its outcome, next due, overdue, and whether it is rotating now')
    .argument('[dir]', 'directory of playbook YAML files', 'playbooks')
    .option('--json', 'machine-readable output')
    .action(
      runAction(async (dir: string, opts: { json?: boolean }) => {
        const entries = await loadPlaybookDirOrFail(dir);
        const fleet = await withClient((client) => fleetStatus(client, entries));
        if (opts.json) {
          out(JSON.stringify(fleet, null, 2));
          return ExitCode.ok;
        }
        for (const s of fleet) {
          const last = s.lastRotation ? `${s.lastRotation.outcome} ${s.lastRotation.closedAt}` : 'never rotated';
          const flags = [
            s.overdue ? `OVERDUE (interval ${days(s.intervalMs)})` : '',
            s.running ? `rotating now since ${s.running.startedAt}` : '',
          ]
            .filter(Boolean)
            .join(', ');
          out(
            `${s.secret.padEnd(28)} last: ${last.padEnd(36)} next: ${s.nextDue ?? 'no schedule'}${flags ? `  ${flags}` : ''}`,
          );
          if (s.running) out(`  ${uiLink(rotationWorkflowId(s.secret), s.running.runId)}`);
        }
        return ExitCode.ok;
      }),
    );
}
