/**
 * `rotor` — start, follow and steer secret rotations. Commands live in cli/commands/, one per file;
 * exit codes are in cli/exit-codes.ts.
 */
import { Command } from 'commander';
import { doctorCommand } from './commands/doctor';
import { operatorCommands } from './commands/operator';
import { planCommand } from './commands/plan';
import { rbacCommand } from './commands/rbac';
import { scheduleCommand } from './commands/schedule';
import { statusCommand } from './commands/status';
import { rotateCommand } from './commands/rotate';
import { validateCommand } from './commands/validate';
import { watchCommand } from './commands/watch';
import { CliError, ExitCode } from './exit-codes';
import { err } from './output';

/** The whole command tree. */
function program(): Command {
  const root = new Command('rotor')
    .description('Secret rotation on Temporal: validate playbooks, start, watch and steer rotations')
    .showHelpAfterError('(run rotor --help for usage)')
    .addCommand(validateCommand())
    .addCommand(rotateCommand())
    .addCommand(watchCommand())
    .addCommand(planCommand())
    .addCommand(rbacCommand())
    .addCommand(doctorCommand())
    .addCommand(scheduleCommand())
    .addCommand(statusCommand());
  for (const c of operatorCommands()) root.addCommand(c);
  return root;
}

program()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    if (e instanceof CliError) {
      err(e.message);
      process.exitCode = e.exitCode;
    } else {
      err(`rotor: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = ExitCode.usage;
    }
  });
