import { sandboxStatus } from '../adapters/canaries';
import { sandboxFix } from '../core/policy/rules/command-sandbox';
import type { Policy } from '../core/policy/schema';
import type { createLogger } from './logger';

/**
 * Says at startup where command canaries will run: sandboxed, refused (what to install), or as
 * the worker's user under a single-tenant policy. Never fatal: other canaries and rotations work.
 */
export async function logCommandSandbox(
  policy: Policy,
  logger: ReturnType<typeof createLogger>,
  opts: { bwrap?: string } = {},
): Promise<void> {
  if (policy.commandSandbox.type === 'none') {
    logger.warn(
      { commandSandbox: 'none' },
      "command canaries run as the worker's user, without a sandbox (full trust; single-tenant policy)",
    );
    return;
  }
  const s = await sandboxStatus(policy.commandSandbox, opts);
  if (s.usable) logger.info({ commandSandbox: 'bubblewrap' }, 'command canaries run in the bubblewrap sandbox');
  else
    logger.error(
      { commandSandbox: 'bubblewrap' },
      `command canaries will be refused: this worker cannot create the bubblewrap sandbox (${s.reason}); ${sandboxFix}`,
    );
}
