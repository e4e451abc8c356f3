import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { policySchema } from '../core/policy/schema';
import type { Policy } from '../core/policy/schema';
import { formatProblem, problemsOf } from '../core/playbook/validate';
import type { PlaybookProblem } from '../core/playbook/validate';

/** A policy file that cannot be used; the message lists every problem as `file: path: message`. */
export class PolicyFileError extends Error {
  constructor(readonly problems: PlaybookProblem[]) {
    super(`invalid rotor policy:\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'PolicyFileError';
  }
}

/** Parses and validates policy YAML, or throws a PolicyFileError naming every problem's path. */
export function parsePolicy(text: string, file: string): Policy {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0)
    throw new PolicyFileError(
      doc.errors.map((e) => ({ file, path: '', message: `YAML: ${e.message.split('\n')[0]}` })),
    );
  const js: unknown = doc.toJS();
  const result = policySchema.safeParse(js);
  if (!result.success) throw new PolicyFileError(problemsOf(result.error.issues, js, file));
  return result.data;
}

/** Reads and validates an admin policy file (synchronously: it is read once, at startup). */
export function loadPolicyFile(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyFileError([
      { file, path: '', message: `cannot read policy: ${(e as NodeJS.ErrnoException).code ?? String(e)}` },
    ]);
  }
  return parsePolicy(text, file);
}

/**
 * The policy named by ROTOR_POLICY_FILE. The worker refuses to start without one: running
 * playbooks with the worker's identities and no policy is what makes rotor a confused deputy.
 */
export function policyFromEnv(env: NodeJS.ProcessEnv = process.env): Policy {
  const file = env['ROTOR_POLICY_FILE'];
  if (!file)
    throw new PolicyFileError([
      {
        file: 'ROTOR_POLICY_FILE',
        path: '',
        message:
          'not set: the worker needs an admin policy saying what each team may rotate (see README "Policy"); a development stack uses dev/policy/allow-all.yaml',
      },
    ]);
  return loadPolicyFile(file);
}
