/** The one mapping of Kubernetes API errors to operator text and stable failure types. */
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';

/** The HTTP status of an API error, else undefined. */
export function statusCode(e: unknown): number | undefined {
  return e instanceof ApiException ? e.code : undefined;
}

/** The API server's own message from an error body (a Status), without echoing request data. */
export function serverMessage(e: unknown): string {
  if (!(e instanceof ApiException)) return '';
  let body: unknown = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return '';
    }
  }
  const msg = typeof body === 'object' && body !== null && 'message' in body ? body.message : undefined;
  return typeof msg === 'string' ? msg : '';
}

/** `HTTP 403: <server message>` for API errors, else the error's message and network code. */
export function errorText(e: unknown): string {
  if (e instanceof ApiException) return `HTTP ${e.code}${serverMessage(e) ? `: ${serverMessage(e)}` : ''}`;
  const err = e as { message?: string; cause?: { code?: string } };
  return [err.message, err.cause?.code].filter(Boolean).join(' ') || String(e);
}

/**
 * Maps a Kubernetes API failure to a stable failure type. 401/403 and 400/422 cannot succeed on
 * retry; everything else (5xx, conflicts, network) is retryable.
 */
export function kubeFailure(e: unknown, where: string, verb: string, resource: string): Error {
  if (e instanceof ApplicationFailure) return e;
  if (e instanceof ApiException) {
    const msg = serverMessage(e);
    if (e.code === 403) {
      return permanent(
        ErrorTypes.permissionDenied,
        `${where}: forbidden to ${verb} ${resource}${msg ? ` (${msg})` : ''}; grant rotor's kubeconfig identity '${verb}' on ${resource} with a Role/ClusterRole binding`,
      );
    }
    if (e.code === 401) {
      return permanent(
        ErrorTypes.permissionDenied,
        `${where}: the API server rejected rotor's credentials (HTTP 401) trying to ${verb} ${resource}; refresh the kubeconfig user of this context`,
      );
    }
    if (e.code === 400 || e.code === 422) {
      return permanent(
        ErrorTypes.deliveryMisconfigured,
        `${where}: the API server refused to ${verb} ${resource}: ${msg || `HTTP ${e.code}`}`,
      );
    }
  }
  return retryable(RetryableErrorTypes.kubernetes, `${where}: failed to ${verb} ${resource}: ${errorText(e)}`);
}
