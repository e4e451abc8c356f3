import { Command } from 'commander';
import { lazyAction } from '../run';

/** `rotor schedule sync <dir>` and `rotor schedule list`. */
export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description(
    'Temporal Schedules that rotate every playbook on its interval (90 days by default)',
  );
  schedule
    .command('sync')
    .description('create, update and delete schedules so there is exactly one per playbook in <dir>; idempotent')
    .argument('<dir>', 'directory of playbook YAML files')
    .option('--json', 'machine-readable output')
    .action(lazyAction(async () => (await import('../actions/schedule')).scheduleSync));
  schedule
    .command('list')
    .description("each rotor schedule and its secret's next run")
    .option('--json', 'machine-readable output')
    .action(lazyAction(async () => (await import('../actions/schedule')).scheduleList));
  return schedule;
}
