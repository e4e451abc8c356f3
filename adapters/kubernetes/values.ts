import type { VersionRef } from '../../core/contracts';
import { ErrorTypes, permanent } from '../../core/failures';
import type { Store } from '../../core/playbook/schema';
import type { Fingerprinter } from '../fingerprint';

/** How cluster delivery reaches secret values: read from the store, checked against the planned fingerprint. */
export interface ValueAccess {
  readValue: (store: Store, version: string) => Promise<string>;
  /** Keyed fingerprints: the keyring that produced the VersionRefs' fingerprints (older keys included). */
  fingerprints: Fingerprinter;
}

export interface VersionValues extends ValueAccess {
  /** Reads a version's value and checks it is the one the rotation planned, before it goes anywhere. */
  valueOf(store: Store, ref: VersionRef, where: string): Promise<string>;
}

export function versionValues(access: ValueAccess): VersionValues {
  return {
    ...access,
    async valueOf(store, ref, where) {
      const value = await access.readValue(store, ref.version);
      if (!access.fingerprints.matches(value, ref.fingerprint)) {
        throw permanent(
          ErrorTypes.invalidInput,
          `${where}: store version ${ref.version} no longer has the value this rotation fingerprinted; refusing to deliver it (was the store entry rewritten outside rotor?)`,
        );
      }
      return value;
    },
  };
}
