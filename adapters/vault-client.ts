/** The one way rotor builds a Vault client and maps Vault's errors to failure types. */
import { readFileSync } from 'node:fs';
import vaultClient from 'node-vault';
import type NodeVault from 'node-vault';
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../core/failures';

/** VAULT_SKIP_VERIFY as Vault's own CLI reads it: only an explicit true turns verification off. */
function skipVerify(env: NodeJS.ProcessEnv): boolean {
  const raw = (env['VAULT_SKIP_VERIFY'] ?? '').trim().toLowerCase();
  if (['', '0', 'false', 'no'].includes(raw)) return false;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  throw new Error(`VAULT_SKIP_VERIFY='${raw}' is not a boolean: write true or false (unset means verify)`);
}

function caFrom(env: NodeJS.ProcessEnv): Buffer | undefined {
  const file = env['VAULT_CACERT'];
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`VAULT_CACERT=${file} cannot be read (${(e as Error).message}): point it at Vault's CA (PEM)`);
  }
}

/**
 * A Vault client from VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT and VAULT_SKIP_VERIFY. TLS is verified
 * unless VAULT_SKIP_VERIFY is explicitly true (node-vault alone turns it off for any non-empty
 * value, "false" included). With AppRole (VAULT_ROLE_ID) the token is set by {@link vaultLogin}.
 * Fails naming the variable when one is missing or invalid.
 */
export function vaultFromEnv(env: NodeJS.ProcessEnv = process.env): NodeVault.client {
  const endpoint = env['VAULT_ADDR'];
  if (!endpoint)
    throw new Error('VAULT_ADDR is not set: the worker needs the Vault address (e.g. http://127.0.0.1:8200)');
  const strictSSL = !skipVerify(env);
  const ca = caFrom(env);
  return vaultClient({
    endpoint,
    token: env['VAULT_TOKEN'] ?? '',
    requestOptions: { strictSSL, ...(ca ? { ca } : {}) },
  });
}

/** The HTTP status of a node-vault error. */
export function vaultStatus(e: unknown): number | undefined {
  return (e as { response?: { statusCode?: number } }).response?.statusCode;
}

/**
 * Maps a Vault API error to a stable failure type; messages name the path, never data. 403 is
 * permanent everywhere; `notFound` says what a 404 (and, where given, 400) means at this path;
 * everything else is transient and retried.
 */
export function vaultFailure(
  e: unknown,
  where: string,
  what: string,
  notFound: { statuses: number[]; failure: (message: string) => ApplicationFailure },
): Error {
  const status = vaultStatus(e);
  if (status === 403)
    return permanent(
      ErrorTypes.permissionDenied,
      `${where}: permission denied to ${what}; grant the worker's Vault token this capability`,
    );
  const reason = e instanceof Error ? e.message : String(e);
  if (status !== undefined && notFound.statuses.includes(status)) return notFound.failure(reason);
  return retryable(RetryableErrorTypes.vault, `${where}: failed to ${what}: ${reason}`);
}
