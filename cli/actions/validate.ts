import { PlaybookError, formatProblem, loadPlaybook } from '../../adapters/playbook-loader';
import { ExitCode } from '../exit-codes';
import type { ExitCode as Code } from '../exit-codes';
import { defaultActor } from '../identity';
import { out } from '../output';
import { cliPolicy, policyRefusals } from '../policy-check';

/**
 * Validates each file; prints `ok <file>` or one `file: path: message` line per problem. With a
 * policy, also every refusal the worker would report at plan for `requestedBy`.
 */
export async function validateFiles(files: string[], opts: { policy?: string; as?: string } = {}): Promise<Code> {
  const policy = cliPolicy(opts.policy, {});
  let code: Code = ExitCode.ok;
  for (const file of files) {
    try {
      const playbook = await loadPlaybook(file);
      const refused = policy ? policyRefusals(policy, playbook, file, opts.as ?? defaultActor()) : [];
      for (const line of refused) out(line);
      if (refused.length > 0) code = ExitCode.usage;
      else out(`ok ${file}`);
    } catch (e) {
      if (!(e instanceof PlaybookError)) throw e;
      for (const p of e.problems) out(formatProblem(p));
      code = ExitCode.usage;
    }
  }
  return code;
}
