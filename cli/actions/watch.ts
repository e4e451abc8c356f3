import { parseArgs, targetSchema, watchOptionsSchema } from '../args';
import { withClient } from '../client';
import type { ExitCode } from '../exit-codes';
import { follow } from '../follow';
import { workflowIdOf } from '../identity';

/** `rotor watch`: follows a rotation until it ends. */
export async function watch(target: string, raw: Record<string, unknown>): Promise<ExitCode> {
  const o = parseArgs(watchOptionsSchema, raw);
  const workflowId = workflowIdOf(parseArgs(targetSchema, target));
  return withClient((client) => follow(client, workflowId, { json: o.json, announce: true }));
}
