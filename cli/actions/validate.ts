import { PlaybookError, formatProblem } from '../../core/playbook/problems';
import { ExitCode } from '../exit-codes';
import type { ExitCode as Code } from '../exit-codes';
import { defaultActor } from '../identity';
import { out } from '../output';
import { loadCheckedPlaybook } from '../playbook-files';

/**
 * Validates each file; prints `ok <file>` or one `file: path: message` line per problem. With a
 * policy, also every refusal the worker would report at plan for `requestedBy`. Bytes this build
 * of the CLI has validated before give their kept outcome (cli/playbook-cache.ts), the same lines.
 */
export async function validateFiles(files: string[], opts: { policy?: string; as?: string } = {}): Promise<Code> {
  // The policy's schemas load only with --policy: without it, validate builds the playbook's alone.
  const check = opts.policy ? await import('../policy-check') : undefined;
  const policy = check?.cliPolicy(opts.policy, {});
  let code: Code = ExitCode.ok;
  for (const file of files) {
    try {
      const playbook = await loadCheckedPlaybook(file);
      const refused = check && policy ? check.policyRefusals(policy, playbook, file, opts.as ?? defaultActor()) : [];
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
