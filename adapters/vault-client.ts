/** The one way rotor builds a Vault client and maps Vault's errors to failure types. */
import vaultClient from 'node-vault';
import type NodeVault from 'node-vault';
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../core/failures';

/** A Vault client from VAULT_ADDR / VAULT_TOKEN; fails naming the variable when the address is missing. */
export function vaultFromEnv(env: NodeJS.ProcessEnv = process.env): NodeVault.client {
  const endpoint = env['VAULT_ADDR'];
  if (!endpoint)
    throw new Error('VAULT_ADDR is not set: the worker needs the Vault address (e.g. http://127.0.0.1:8200)');
  return vaultClient({ endpoint, token: env['VAULT_TOKEN'] ?? '' });
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
