import { Command } from 'commander';
import { PlaybookError, formatProblem, loadPlaybook } from '../../adapters/playbook-loader';
import { ExitCode } from '../exit-codes';
import type { ExitCode as Code } from '../exit-codes';
import { out } from '../output';
import { runAction } from './run';

/** Validates each file; prints `ok <file>` or one `file: path: message` line per problem. */
export async function validateFiles(files: string[]): Promise<Code> {
  let code: Code = ExitCode.ok;
  for (const file of files) {
    try {
      await loadPlaybook(file);
      out(`ok ${file}`);
    } catch (e) {
      if (!(e instanceof PlaybookError)) throw e;
      for (const p of e.problems) out(formatProblem(p));
      code = ExitCode.usage;
    }
  }
  return code;
}

/** `rotor validate <files…>` */
export function validateCommand(): Command {
  return new Command('validate')
    .description('check playbooks against the schema; prints every problem as file: path: message')
    .argument('<files...>', 'playbook YAML files')
    .action(runAction((files: string[]) => validateFiles(files)));
}
