import { createHmac } from 'node:crypto';
import { ErrorTypes, permanent } from '../core/failures';
import type { Keyring } from './keys';

const digest = (value: string, key: Buffer) =>
  createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 24);

/**
 * A keyed fingerprint of a secret value: HMAC-SHA256 under a key only workers hold, truncated, with
 * the id of the key (`hmac:<key id>:<hex>`). Safe to record in Temporal and logs; without the key
 * it reveals nothing, unlike a bare hash, which could be brute-forced for short or guessable values.
 */
export function fingerprint(value: string, key: Buffer, keyId: string): string {
  return `hmac:${keyId}:${digest(value, key)}`;
}

/** Makes fingerprints under the newest key and checks recorded ones under the key that made them. */
export interface Fingerprinter {
  /** Fingerprint of `value` under the keyring's newest key. */
  make: (value: string) => string;
  /**
   * Whether `value` has the recorded fingerprint `fp`, recomputed with fp's own key, so runs planned
   * before a key rotation still verify. Fingerprints from before keyrings (`hmac:<hex>`) are checked
   * against every listed key. A key id no longer listed fails the step naming it.
   */
  matches: (value: string, fp: string) => boolean;
}

/** The fingerprinter of a keyring (ROTOR_FINGERPRINT_KEYS / ROTOR_FINGERPRINT_KEY). */
export function fingerprinter(ring: Keyring): Fingerprinter {
  return {
    make: (value) => fingerprint(value, ring.newest.key, ring.newest.id),
    matches(value, fp) {
      const parts = fp.split(':');
      if (parts.length === 2) return ring.all.some((k) => `hmac:${digest(value, k.key)}` === fp);
      const [, id = ''] = parts;
      const key = ring.byId(id);
      if (!key)
        throw permanent(
          ErrorTypes.invalidInput,
          `this rotation's fingerprints were made with fingerprint key '${id}', which is not in ${ring.source} (${ring.all.map((k) => k.id).join(', ')}); list it again until the rotations that use it have finished`,
        );
      return fingerprint(value, key, id) === fp;
    },
  };
}
