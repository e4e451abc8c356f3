/**
 * `rotor` — start, follow and steer secret rotations. Commands live in cli/commands/, one per file;
 * exit codes are in cli/exit-codes.ts.
 */
import { Command } from 'commander';
import { CliError, ExitCode } from './exit-codes';
import { err } from './output';

/**
 * Each command's module, loaded only when needed: the modules pull in the Temporal, Kubernetes and
 * AWS clients, and loading all of them for every invocation cost seconds per command.
 */
const commands: Record<string, () => Promise<Command>> = {
  validate: async () => (await import('./commands/validate')).validateCommand(),
  rotate: async () => (await import('./commands/rotate')).rotateCommand(),
  watch: async () => (await import('./commands/watch')).watchCommand(),
  plan: async () => (await import('./commands/plan')).planCommand(),
  rbac: async () => (await import('./commands/rbac')).rbacCommand(),
  doctor: async () => (await import('./commands/doctor')).doctorCommand(),
  schedule: async () => (await import('./commands/schedule')).scheduleCommand(),
  status: async () => (await import('./commands/status')).statusCommand(),
  ui: async () => (await import('./commands/ui')).uiCommand(),
};

/** The command tree: only the invoked command when it is known, else all (help, operator commands). */
async function program(invoked: string | undefined): Promise<Command> {
  const root = new Command('rotor')
    .description('Secret rotation on Temporal: validate playbooks, start, watch and steer rotations')
    .showHelpAfterError('(run rotor --help for usage)');
  const only = invoked !== undefined ? commands[invoked] : undefined;
  for (const load of only ? [only] : Object.values(commands)) root.addCommand(await load());
  if (!only) for (const c of (await import('./commands/operator')).operatorCommands()) root.addCommand(c);
  return root;
}

program(process.argv[2])
  .then((root) => root.parseAsync(process.argv))
  .catch((e: unknown) => {
    if (e instanceof CliError) {
      err(e.message);
      process.exitCode = e.exitCode;
    } else {
      err(`rotor: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = ExitCode.usage;
    }
  });
