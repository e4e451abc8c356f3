import { Command } from 'commander';
import { lazyAction } from '../run';

/** `rotor ui [--secret s] [--json]`: Temporal UI links to the operator's views, rotations only. */
export function uiCommand(): Command {
  return new Command('ui')
    .description(
      "Temporal UI links: all rotations, running, needs attention, rolled back today, and one secret's history",
    )
    .option('--secret <name>', "add the link to this secret's rotation history")
    .option('--json', 'one JSON line per view')
    .action(lazyAction(async () => (await import('../actions/ui')).ui));
}
