import { Command } from 'commander';
import { lazyAction } from '../run';

/** `rotor status [dir] [--json]`: the fleet — last rotation, outcome, next due, overdue, running now. */
export function statusCommand(): Command {
  return new Command('status')
    .description('per secret: last rotation and its outcome, next due, overdue, and whether it is rotating now')
    .argument('[dir]', 'directory of playbook YAML files', 'playbooks')
    .option('--json', 'machine-readable output')
    .action(lazyAction(async () => (await import('../actions/status')).status));
}
