import type { Client } from '@temporalio/client';
import type { Keyring } from '../../adapters/keys';
import type { RotorResources } from '../../adapters/kubernetes/rotor-resources';
import { compromiseRefusals } from '../../core/policy/compromise';
import { formatRefusal } from '../../core/policy/refusal';
import type { Policy } from '../../core/policy/schema';

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
  /**
   * The worker's policy, when the controller was given it (`scheduling`): a compromise its requester
   * may not declare is Denied before anything starts or is superseded (the worker refuses it at plan
   * anyway).
   */
  policy?: Policy | undefined;
}

/** Why `requestedBy` may not declare the compromise a request or incident claims, or undefined. */
export function undeclarableCompromise(
  deps: ControllerDeps,
  requestedBy: string,
  compromised: boolean,
): { reason: string; message: string } | undefined {
  const refusal = deps.policy && compromiseRefusals(deps.policy, requestedBy, compromised)[0];
  return refusal ? { reason: 'CompromiseNotDeclarable', message: formatRefusal(refusal) } : undefined;
}
