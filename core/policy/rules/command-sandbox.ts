import type { Playbook } from '../../playbook/schema';
import type { PolicyRefusal } from '../refusal';
import type { Policy } from '../schema';

/** What an admin installs or enables when a worker cannot create the command-canary sandbox. */
export const sandboxFix =
  "install the Debian package bubblewrap on the worker host ('apt-get install bubblewrap') and allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, and kernel.unprivileged_userns_clone=1 where that sysctl exists; in a container, a seccomp profile that permits them); or, in a single-tenant policy (allowAll: true) only, set commandSandbox.type: none (full trust)";

/** Why command canary `name` cannot run on this worker (`reason`), without the fix. */
export function sandboxUnavailable(name: string, reason: string): string {
  return `command canary '${name}' must run in the bubblewrap sandbox, which this worker cannot create (${reason})`;
}

/**
 * Every command canary of `playbook` when the policy wants them sandboxed and this worker cannot
 * create the sandbox (`unavailable` says why). Unlike the policy rules it applies under `allowAll`
 * too: the policy, not the worker's luck, decides whether a hook may run unsandboxed.
 */
export function commandSandboxRefusals(
  policy: Policy,
  playbook: Playbook,
  unavailable: string | undefined,
): PolicyRefusal[] {
  if (policy.commandSandbox.type !== 'bubblewrap' || unavailable === undefined) return [];
  return playbook.spec.canaries.flatMap((c, i) =>
    c.type === 'command'
      ? [
          {
            path: `spec.canaries[${i}].type`,
            rule: 'commandSandbox.type',
            message: sandboxUnavailable(c.name, unavailable),
            fix: sandboxFix,
          },
        ]
      : [],
  );
}

/** Whether `playbook` has a command canary that must run in the sandbox (so the worker must probe it). */
export function needsCommandSandbox(policy: Policy, playbook: Playbook): boolean {
  return policy.commandSandbox.type === 'bubblewrap' && playbook.spec.canaries.some((c) => c.type === 'command');
}
