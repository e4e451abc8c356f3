import { Command } from 'commander';
import { lazyAction } from '../run';
import { operatorDescriptions } from '../operator-names';
import type { OperatorName } from '../operator-names';

/** `rotor approve|abort|skip-soak|pause|resume|retry <secret> [--reason …] [--by …]` */
export function operatorCommands(): Command[] {
  return (Object.keys(operatorDescriptions) as OperatorName[]).map((name) =>
    new Command(name)
      .description(operatorDescriptions[name])
      .argument('<secret>', 'secret name (or a workflow id such as rotate/<secret>)')
      .option('--reason <text>', 'why, recorded with the action')
      .option('--by <who>', 'who is acting (default $USER@hostname)')
      .option('--json', 'print the answer as one JSON line')
      .action(
        lazyAction(async () => {
          const { operate } = await import('../actions/operator');
          return (target: string, opts: Record<string, unknown>) => operate(name, target, opts);
        }),
      ),
  );
}
