import type { Client } from '@temporalio/client';
import type { Keyring } from '../../adapters/keys';
import type { RotorResources } from '../../adapters/kubernetes/rotor-resources';

/** What every pass of rotor's controller works with: the management cluster's resources and Temporal. */
export interface ControllerDeps {
  resources: RotorResources;
  client: Client;
  taskQueue: string;
  now?: () => Date;
  /**
   * Keys rotor's controller vouches with (attestationKeys of the worker's fingerprint keys): a worker
   * under `identity: kubernetes` takes only starts and actions that carry its attestation.
   */
  attestationKeys?: Keyring | undefined;
}
