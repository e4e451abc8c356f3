/**
 * What a rotor worker's codec hands on in place of a payload it refuses (not encrypted with a key of
 * rotor's keyring, or not decryptable by any of them). Throwing instead would fail the whole
 * workflow activation, and every later one that replays it: one unencrypted signal from a client
 * without the codec key would freeze a running rotation. The marker is decoded like any JSON
 * payload; the workflow interceptor (workflows/interceptors.ts) and the activity interceptor refuse
 * it where it lands. It carries nothing of the refused payload, and the same payload always gives
 * the same marker, so histories replay.
 */
export const refusedPayloadKey = 'rotor.refusedPayload';

/** Why the payload was refused. */
export type RefusedPayloadReason = 'unencrypted' | 'undecryptable';

/** The decoded marker. */
export interface RefusedPayload {
  [refusedPayloadKey]: RefusedPayloadReason;
}

/** The marker for `reason`. */
export function refusedPayload(reason: RefusedPayloadReason): RefusedPayload {
  return { [refusedPayloadKey]: reason };
}

/** Whether a decoded value is the codec's refusal marker. */
export function isRefusedPayload(value: unknown): value is RefusedPayload {
  return typeof value === 'object' && value !== null && refusedPayloadKey in value;
}

/** The reasons, for messages: `unencrypted` when any value is an unencrypted payload. */
export function refusalText(values: readonly unknown[]): string {
  const reasons = new Set(values.filter(isRefusedPayload).map((v) => v[refusedPayloadKey]));
  return reasons.has('unencrypted')
    ? 'refused an unencrypted payload'
    : "refused a payload no key of rotor's codec keyring decrypts";
}

/** The advice every refusal ends with. */
export const refusalAdvice =
  "rotor workers accept only payloads encrypted with rotor's codec key: use rotor's own client (rotor rotate, rotor approve), which holds it";
