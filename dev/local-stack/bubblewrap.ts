import type { StackContext } from './service';
import { ensureDebianPackages, which } from './toolchain';

/**
 * Installs bubblewrap, the sandbox command canaries run in (adapters/canaries/sandbox.ts), when
 * `bwrap` is missing: as root through apt-get, otherwise an error naming the command. `dev/stack up`
 * runs it for the stack's workers, `npm test` before the unit tests that attack the sandbox.
 */
export function ensureBubblewrap(ctx: StackContext): Promise<void> {
  return ensureDebianPackages(
    ctx,
    'bubblewrap (the sandbox of command canaries)',
    ['bubblewrap'],
    () => which('bwrap') !== undefined,
  );
}
