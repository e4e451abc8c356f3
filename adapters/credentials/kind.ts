import type { Credential } from '../../core/playbook/schema';
import type { RotationRef } from '../../core/contracts';
import type { RevocationEvidence } from '../../core/status';

/**
 * A kind of credential: how a new one is made real in the system it opens, how that is undone,
 * and how the old one is revoked and proven dead. Values are strings as stored in the secret store
 * (JSON for structured credentials). Every method is idempotent: activities run at least once.
 */
export interface CredentialKind<P extends Credential = Credential> {
  /**
   * Produces the new credential and applies it to its target (e.g. sets a new password on the
   * inactive role) without disturbing the current one. Returns the value to store as pending.
   */
  create(policy: P, ctx: { currentValue: string; rotation: RotationRef }): Promise<string>;
  /** Undo of create: the new credential stops working; the current one keeps working. */
  discard(policy: P, ctx: { pendingValue: string; currentValue: string; rotation: RotationRef }): Promise<void>;
  /** Revokes the old credential at its target and proves it is refused. */
  revoke(
    policy: P,
    ctx: { oldValue: string; currentValue: string; rotation: RotationRef },
  ): Promise<RevocationEvidence>;
  /**
   * Makes the pending credential the one its target hands out (a CA rollover's default issuer),
   * at promote, after every consumer read both. Idempotent; kinds whose consumers switch through
   * the store alone have none.
   */
  promote?(policy: P, ctx: { pendingValue: string; currentValue: string }): Promise<void>;
  /** Undo of promote: the current (old) credential is the one its target hands out again. */
  demote?(policy: P, ctx: { pendingValue: string; currentValue: string }): Promise<void>;
  /**
   * Before revoke changes anything (clusters included): what still depends on the old credential
   * (a CA's unexpired leaves), so the run needs attention naming it instead of cutting it off;
   * undefined when the old credential may go.
   */
  stillInUse?(policy: P, ctx: { oldValue: string; currentValue: string }): Promise<string | undefined>;
  /**
   * The secret parts of a stored value, which reports hide; the whole value and every string in
   * it when absent. A kind whose value holds public parts that identify it (a JWK's `kid`) names
   * only the secret ones, so evidence may name the public ones.
   */
  secretParts?(value: string): string[];
}
