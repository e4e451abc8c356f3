import { createHmac } from 'node:crypto';

/**
 * A keyed fingerprint of a secret value: HMAC-SHA256 under a key only workers hold, truncated.
 * Safe to record in Temporal and logs; without the key it reveals nothing, unlike a bare hash,
 * which could be brute-forced for short or guessable values.
 */
export function fingerprint(value: string, key: Buffer): string {
  return `hmac:${createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 24)}`;
}
