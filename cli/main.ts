/**
 * `rotor` — start, follow and steer secret rotations. Each command is defined in cli/commands/,
 * one per file, and its body in cli/actions/, loaded only when that command runs; exit codes are
 * in cli/exit-codes.ts.
 */
import { Command } from 'commander';
import { CliError, ExitCode } from './exit-codes';
import { err } from './output';
import { deploymentCommand } from './commands/deployment';
import { doctorCommand } from './commands/doctor';
import { incidentCommand } from './commands/incident';
import { operatorCommands } from './commands/operator';
import { planCommand } from './commands/plan';
import { rbacCommand } from './commands/rbac';
import { requestCommand } from './commands/request';
import { rotateCommand } from './commands/rotate';
import { scheduleCommand } from './commands/schedule';
import { statusCommand } from './commands/status';
import { uiCommand } from './commands/ui';
import { validateCommand } from './commands/validate';
import { watchCommand } from './commands/watch';

/**
 * The whole command tree. The definitions import commander only: the Temporal, Kubernetes and AWS
 * clients come with a command's body (cli/run.ts lazyAction), so `rotor --help` and
 * `rotor validate` never load them (dev/cli-lazy-load.test.ts proves it).
 */
function program(): Command {
  const root = new Command('rotor')
    .description('Secret rotation on Temporal: validate playbooks, start, watch and steer rotations')
    .showHelpAfterError('(run rotor --help for usage)');
  for (const c of [
    validateCommand(),
    rotateCommand(),
    requestCommand(),
    watchCommand(),
    planCommand(),
    rbacCommand(),
    doctorCommand(),
    scheduleCommand(),
    statusCommand(),
    uiCommand(),
    incidentCommand(),
    deploymentCommand(),
    ...operatorCommands(),
  ])
    root.addCommand(c);
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
