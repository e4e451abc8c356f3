import { mariadbDefaults } from '../adapters/credentials/mariadb-target';
import { PolicyFileError, loadPolicyFile } from '../adapters/policy-file';
import { evaluatePolicy, formatRefusal } from '../core/policy/evaluate';
import type { Policy } from '../core/policy/schema';
import type { Playbook } from '../core/playbook/schema';
import { CliError } from './exit-codes';

/** The policy file named by `--policy`, else ROTOR_POLICY_FILE, else none; an invalid file fails the command. */
export function cliPolicy(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Policy | undefined {
  const path = file ?? env['ROTOR_POLICY_FILE'];
  if (!path) return undefined;
  try {
    return loadPolicyFile(path);
  } catch (e) {
    if (e instanceof PolicyFileError) throw new CliError(e.message);
    throw e;
  }
}

/**
 * The same refusals the worker reports at plan, as `file: field: message (policy rule …)` lines,
 * resolving defaults the way a worker with this environment would.
 */
export function policyRefusals(
  policy: Policy,
  playbook: Playbook,
  file: string,
  requestedBy: string,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  return evaluatePolicy(policy, playbook, {
    playbookFile: file,
    requestedBy,
    defaultDatabase: { host: env['PGHOST'], port: env['PGPORT'] ? Number(env['PGPORT']) : undefined },
    defaultMariadb: mariadbDefaults(env),
    defaultRegion: env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'],
  }).map((r) => `${file}: ${formatRefusal(r)}`);
}
