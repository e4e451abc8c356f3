/** The one way rotor builds a Vault client and maps Vault's errors to failure types. */
import vaultClient from 'node-vault';
import type NodeVault from 'node-vault';
import type { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable, throttled } from '../core/failures';
import { refusePlaintext } from './plaintext';
import { noAnswerText, requestTimeoutMs } from './request-timeout';
import { vaultTlsFromEnv, vaultTlsHint } from './vault-tls';

/**
 * A Vault client from VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT/VAULT_CAPATH and VAULT_SKIP_VERIFY. TLS
 * is verified unless VAULT_SKIP_VERIFY is explicitly true for a loopback address (node-vault alone
 * turns it off for any non-empty value, "false" included; see vault-tls.ts). With AppRole
 * (VAULT_ROLE_ID) the token is set by {@link vaultLogin}. Each request waits at most
 * ROTOR_REQUEST_TIMEOUT_MS for its answer (request-timeout.ts). Fails naming the variable when one
 * is missing or invalid.
 */
export function vaultFromEnv(env: NodeJS.ProcessEnv = process.env): NodeVault.client {
  const endpoint = env['VAULT_ADDR'];
  if (!endpoint)
    throw new Error('VAULT_ADDR is not set: the worker needs the Vault address (e.g. http://127.0.0.1:8200)');
  refusePlaintext('VAULT_ADDR', endpoint, 'the Vault token and every secret');
  const client = vaultClient({
    endpoint,
    token: env['VAULT_TOKEN'] ?? '',
    requestOptions: vaultTlsFromEnv(env, endpoint),
  });
  return retryingThrottled(boundedRequests(client, `Vault at ${endpoint}`, requestTimeoutMs(env)));
}

/**
 * Bounds each request's wait for its whole answer to `ms` (node-vault hands a request's `timeout`
 * to axios) and names a timeout as what it is: the backend did not answer, and the step is tried
 * again.
 */
export function boundedRequests(client: NodeVault.client, backend: string, ms: number): NodeVault.client {
  const request = client.request.bind(client);
  client.request = async (options: NodeVault.RequestOption): Promise<unknown> => {
    try {
      return (await request({ ...options, timeout: ms })) as unknown;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') throw new Error(noAnswerText(backend, ms), { cause: e });
      throw e;
    }
  };
  return client;
}

/**
 * How a throttled Vault request is tried again on the spot: 6 tries, 100 ms doubling, each
 * jittered, so the waits (1.55–3.1 s in all) always outlast a quota's 1 s interval.
 */
export const vaultThrottleRetry = { tries: 6, baseMs: 100 };

/**
 * Retries each request Vault answered 429 (a rate-limit quota) a few times, for longer than a
 * quota's usual 1 s interval, before it fails the step. One step makes up to five Vault calls;
 * under a quota below that per interval, failing the whole step for one of them makes it start
 * over and meet the quota again, every time (a create under 2 requests/s was throttled 10 times
 * in a row and would have used its whole throttle budget). The waits are jittered
 * (half to all of 100 ms doubling) so steps throttled together do not come back together. A 429
 * left after the last try fails the step as `BackendThrottled`, and the workflow waits longer.
 */
export function retryingThrottled(
  client: NodeVault.client,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): NodeVault.client {
  const request = client.request.bind(client);
  // node-vault's read/write/list/delete and the rest all go through `client.request`.
  client.request = async (options: NodeVault.RequestOption): Promise<unknown> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await request(options)) as unknown;
      } catch (e) {
        if (vaultStatus(e) !== 429 || attempt >= vaultThrottleRetry.tries) throw e;
        const backoff = vaultThrottleRetry.baseMs * 2 ** (attempt - 1);
        await wait(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
  };
  return client;
}

/** The HTTP status of a node-vault error. */
export function vaultStatus(e: unknown): number | undefined {
  return (e as { response?: { statusCode?: number } }).response?.statusCode;
}

/**
 * Maps a Vault API error to a stable failure type; messages name the path, never data. 403 is
 * permanent everywhere; `notFound` says what a 404 (and, where given, 400) means at this path; a
 * 429 (rate-limit quota) is `BackendThrottled`, retried by the workflow without using up the step's
 * attempts; everything else is transient and retried.
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
  // A rate-limit quota says only "rate limit quota exceeded": name the status, so an incident
  // (core/incident/throttling.ts) knows the backend throttled. node-vault keeps no response headers,
  // so a Retry-After (sent only with the quota config's response headers on) cannot be read here.
  if (status === 429)
    return throttled(
      `${where}: throttled while trying to ${what} (HTTP 429 Too Many Requests: ${reason}); retried with back-off`,
    );
  // Retried: fixing VAULT_CACERT and restarting the worker lets the rotation go on where it stopped.
  return retryable(RetryableErrorTypes.vault, `${where}: failed to ${what}: ${vaultTlsHint(e) ?? reason}`);
}
