import { Command } from 'commander';
import { lazyAction } from '../run';

/** Every operator command and what it does; cli/actions/operator.ts says how each reaches the workflow. */
export const operatorDescriptions = {
  approve: 'release the approval gate before the old credential is revoked',
  abort: 'abort the rotation and roll back (refused past the point of no return)',
  'skip-soak': 'end the soak period now',
  pause: 'hold before the next stage starts',
  resume: 'continue a paused rotation',
  retry: 'after the point of no return, retry the failing step now',
} as const;

/** The name of an operator command. */
export type OperatorName = keyof typeof operatorDescriptions;

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
