import { Command } from 'commander';
import { lazyAction } from '../run';

/** `rotor watch <secret-or-workflow-id> [--json]` */
export function watchCommand(): Command {
  return new Command('watch')
    .description('follow a rotation live until it ends; same exit codes as rotate --wait')
    .argument('<secret-or-workflow-id>', 'secret name (or a workflow id such as rotate/<secret>)')
    .option('--json', 'JSON lines: one status object per change, then a result object')
    .action(lazyAction(async () => (await import('../actions/watch')).watch));
}
