import { Command } from 'commander';
import { parseArgs, targetSchema, watchOptionsSchema } from '../args';
import { withClient } from '../client';
import type { ExitCode } from '../exit-codes';
import { follow } from '../follow';
import { workflowIdOf } from '../identity';
import { runAction } from './run';

async function watch(target: string, raw: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(watchOptionsSchema, raw);
  const workflowId = workflowIdOf(parseArgs(targetSchema, target));
  return withClient((client) => follow(client, workflowId, { json: o.json, announce: true }));
}

/** `rotor watch <secret-or-workflow-id> [--json]` */
export function watchCommand(): Command {
  return new Command('watch')
    .description('follow a rotation live until it ends; same exit codes as rotate --wait')
    .argument('<secret-or-workflow-id>', 'secret name (or a workflow id such as rotate/<secret>)')
    .option('--json', 'JSON lines: one status object per change, then a result object')
    .action(runAction((target: string, opts: Record<string, unknown>) => watch(target, opts)));
}
