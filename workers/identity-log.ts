import type { Policy } from '../core/policy/schema';
import type { createLogger } from './logger';

/**
 * Says at startup where requesters and approvers come from: `identity: kubernetes` (only rotor's
 * controller starts and steers rotations), or `claims`, which is single-tenant: a warning when the
 * policy names more than one tenant, as any codec-key client can then claim another's name.
 */
export function logIdentity(policy: Policy, logger: ReturnType<typeof createLogger>): void {
  if (policy.identity === 'kubernetes') {
    logger.info(
      {},
      "requesters and approvers come from Kubernetes (identity: kubernetes): only rotor's controller starts rotations and passes on approvals",
    );
    return;
  }
  const message =
    'requesters and approvers are what clients claim (identity: claims): any client holding the codec key may start rotations with any --requested-by and approve with any --by';
  if (policy.tenants.length > 1)
    logger.warn(
      {},
      `${message}; with ${policy.tenants.length} tenants set identity: kubernetes (docs/policy.md, Identity from Kubernetes)`,
    );
  else logger.info({}, `${message} (single-tenant)`);
}
