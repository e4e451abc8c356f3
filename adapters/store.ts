import type { Store } from '../core/playbook/schema';
import type {
  DemoteInput,
  DiscardInput,
  PlanResult,
  PromoteInput,
  RevokeInput,
  FinalizeInput,
  RotationRef,
} from '../core/contracts';

/**
 * One secret store (Vault KV v2, AWS Secrets Manager). Every method is idempotent: activities run
 * at least once, so a retry after a lost response must converge on the same state.
 */
export interface SecretStoreBackend<S extends Store = Store> {
  /** Current and previous version ids; reads the current value only to fingerprint it. */
  plan(
    store: S,
    rotation: RotationRef,
  ): Promise<Omit<PlanResult, 'current'> & { currentVersion: string; currentValue: string }>;
  /** Stores `value` as a new, not-yet-current version; returns its version id. Retries return the same version. */
  createPending(store: S, rotation: RotationRef, currentVersion: string, value: () => Promise<string>): Promise<string>;
  /** This run's pending version, if it wrote one that still exists (undo after a lost reply). */
  runVersion(store: S, rotation: RotationRef): Promise<string | null>;
  /** Undo of createPending: the pending version is destroyed or marked abandoned, labels as before. */
  discardPending(store: S, input: Omit<DiscardInput, 'store'>): Promise<void>;
  promote(store: S, input: Omit<PromoteInput, 'store'>): Promise<void>;
  /** Undo of promote: the old version is current again. */
  demote(store: S, input: Omit<DemoteInput, 'store'>): Promise<void>;
  revoke(store: S, input: Omit<RevokeInput, 'store'>): Promise<void>;
  finalize(store: S, input: Omit<FinalizeInput, 'store'>): Promise<void>;
  /** The value of one version, for activities that move it elsewhere; never returned to a workflow. */
  readValue(store: S, version: string): Promise<string>;
}
