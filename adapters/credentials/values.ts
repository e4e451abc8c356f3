import { ErrorTypes, permanent } from '../../core/failures';

/** A username/password pair as stored for database credentials. */
export interface UserPassword {
  username: string;
  password: string;
}

/** An AWS access key pair as stored for IAM credentials. */
export interface AccessKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Parses a stored JSON credential and checks that `fields` are non-empty strings. The error names
 * `what` and the missing fields only: the text may be a secret, so it is never quoted.
 */
export function parseCredentialJson<F extends string>(
  text: string,
  fields: readonly F[],
  what: string,
): Record<F, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw permanent(ErrorTypes.invalidInput, `${what} is not JSON with ${fields.join(', ')} (value not shown)`);
  }
  const obj = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const missing = fields.filter((f) => typeof obj[f] !== 'string' || obj[f] === '');
  if (missing.length > 0)
    throw permanent(ErrorTypes.invalidInput, `${what} has no ${missing.join(', ')} (value not shown)`);
  return Object.fromEntries(fields.map((f) => [f, obj[f] as string])) as Record<F, string>;
}

/** `{"username","password"}` from a stored value; `what` names the value in errors (e.g. "the current value"). */
export function parseUserPassword(text: string, what: string): UserPassword {
  return parseCredentialJson(text, ['username', 'password'] as const, what);
}

/** `{"accessKeyId","secretAccessKey"}` from a stored value. */
export function parseAccessKeyPair(text: string, what: string): AccessKeyPair {
  return parseCredentialJson(text, ['accessKeyId', 'secretAccessKey'] as const, what);
}

/** An access key id shortened for reports: ids are not secret, but the full id adds nothing there. */
export function shortKeyId(id: string): string {
  return id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id;
}
