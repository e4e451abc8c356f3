/**
 * Waiting on one Kubernetes object with a list+watch loop that survives what real watches do:
 * the server ends them (timeoutSeconds, apiserver restarts), connections reset, client-node's
 * inactivity timer aborts them, and a resourceVersion can expire (410 Gone).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ApiException, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';

/** One object, by name, in a collection the caller can list and watch. */
export interface WatchTarget<T extends KubernetesObject> {
  kubeconfig: KubeConfig;
  /** Collection path, e.g. `/api/v1/namespaces/ns/secrets`. */
  path: string;
  name: string;
  /** Lists the collection filtered to `name` (fieldSelector metadata.name), returning its resourceVersion. */
  list(): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
}

/** Why the loop opened a new watch; for diagnostics and tests. */
export interface WatchRestart {
  /** `ended`: server closed the stream; `gone`: resourceVersion expired; `error`: connection or request failed. */
  reason: 'ended' | 'gone' | 'error';
  /** Whether the object is listed again (true) or the watch resumes from the last resourceVersion. */
  relist: boolean;
  detail?: string;
}

export interface WaitOptions {
  /** Stops the wait; the returned promise rejects with the signal's reason. */
  signal: AbortSignal;
  /**
   * Server-side lifetime of each watch request. Kept below client-node's 30 s inactivity timer so
   * a quiet object ends its watch cleanly (and resumes) instead of being aborted as a timeout.
   */
  timeoutSeconds?: number;
  onRestart?: (restart: WatchRestart) => void;
}

type WatchEnd<R> =
  { kind: 'match'; value: R } | { kind: 'ended' } | { kind: 'gone' } | { kind: 'error'; detail: string };

const maxBackoffMs = 5000;

/** True for failures worth retrying: network errors, 429 and 5xx. */
export function isTransient(e: unknown): boolean {
  if (e instanceof ApiException) return e.code === 429 || e.code >= 500;
  return true;
}

/** Waits `ms`; rejects with the signal's own reason when it aborts (callers compare reasons). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => Promise.reject(signal.reason as Error));
}

function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function describe(e: unknown): string {
  if (e instanceof ApiException) return `HTTP ${e.code}`;
  const err = e as { message?: string; cause?: { code?: string }; code?: string; statusCode?: number };
  const code = err.cause?.code ?? err.code ?? (err.statusCode ? `HTTP ${err.statusCode}` : undefined);
  return [err.message, code].filter(Boolean).join(' ') || String(e);
}

/**
 * Calls `until` with the object's current state (undefined while it does not exist) after a list
 * and on every watch event, and resolves with its first non-undefined result. Between watches it
 * resumes from the last resourceVersion (bookmarks keep it fresh); after an expired version or a
 * failed connection it lists again, so no change is missed. Transient failures back off up to 5 s;
 * others (403, 404 of the collection, ...) reject. Only the object's state is passed to `until`:
 * this helper never logs objects.
 */
export async function waitForObject<T extends KubernetesObject, R>(
  target: WatchTarget<T>,
  until: (obj: T | undefined) => R | undefined,
  options: WaitOptions,
): Promise<R> {
  const { signal } = options;
  let resourceVersion: string | undefined;
  let backoffMs = 0;

  for (;;) {
    if (signal.aborted) throw signal.reason as Error;
    if (resourceVersion === undefined) {
      let listed: Awaited<ReturnType<WatchTarget<T>['list']>>;
      try {
        listed = await abortable(target.list(), signal);
      } catch (e) {
        if (signal.aborted || !isTransient(e)) throw e;
        backoffMs = Math.min(maxBackoffMs, backoffMs ? backoffMs * 2 : 250);
        options.onRestart?.({ reason: 'error', relist: true, detail: `list failed: ${describe(e)}` });
        await sleep(backoffMs, signal);
        continue;
      }
      const found = until(listed.items.find((i) => i.metadata?.name === target.name));
      if (found !== undefined) return found;
      resourceVersion = listed.metadata?.resourceVersion;
    }

    const end = await watchOnce(target, resourceVersion, until, options, (rv) => {
      resourceVersion = rv;
      backoffMs = 0;
    });
    if (end.kind === 'match') return end.value;
    if (end.kind === 'ended') {
      options.onRestart?.({ reason: 'ended', relist: false });
      continue;
    }
    // The stream may have dropped events before failing: list again rather than trust the version.
    resourceVersion = undefined;
    if (end.kind === 'gone') {
      options.onRestart?.({ reason: 'gone', relist: true });
      continue;
    }
    backoffMs = Math.min(maxBackoffMs, backoffMs ? backoffMs * 2 : 250);
    options.onRestart?.({ reason: 'error', relist: true, detail: end.detail });
    await sleep(backoffMs, signal);
  }
}

/** One watch request from `resourceVersion`; settles when `until` matches or the stream ends. */
function watchOnce<T extends KubernetesObject, R>(
  target: WatchTarget<T>,
  resourceVersion: string | undefined,
  until: (obj: T | undefined) => R | undefined,
  options: WaitOptions,
  progressed: (resourceVersion: string) => void,
): Promise<WatchEnd<R>> {
  const { signal } = options;
  return new Promise<WatchEnd<R>>((resolve, reject) => {
    let settled = false;
    let controller: AbortController | undefined;
    const finish = (end: WatchEnd<R> | { kind: 'reject'; error: Error }) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      controller?.abort();
      if (end.kind === 'reject') reject(end.error);
      else resolve(end);
    };
    const onAbort = () => finish({ kind: 'reject', error: signal.reason as Error });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });

    const onEvent = (type: string, obj: unknown) => {
      if (settled) return;
      if (type === 'ERROR') {
        const status = obj as { code?: number; reason?: string; message?: string };
        if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') finish({ kind: 'gone' });
        else
          finish({ kind: 'error', detail: `watch error event: ${status.code ?? '?'} ${status.reason ?? ''}`.trim() });
        return;
      }
      const o = obj as T;
      const rv = o.metadata?.resourceVersion;
      if (rv) progressed(rv);
      if (type === 'BOOKMARK' || o.metadata?.name !== target.name) return;
      try {
        const found = until(type === 'DELETED' ? undefined : o);
        if (found !== undefined) finish({ kind: 'match', value: found });
      } catch (e) {
        finish({ kind: 'reject', error: e as Error });
      }
    };
    const onDone = (err: unknown) => {
      if (err === null || err === undefined) finish({ kind: 'ended' });
      else if ((err as { statusCode?: number }).statusCode === 410) finish({ kind: 'gone' });
      else finish({ kind: 'error', detail: describe(err) });
    };

    const params = {
      fieldSelector: `metadata.name=${target.name}`,
      allowWatchBookmarks: true,
      timeoutSeconds: options.timeoutSeconds ?? 20,
      ...(resourceVersion ? { resourceVersion } : {}),
    };
    new Watch(target.kubeconfig)
      .watch(target.path, params, onEvent, onDone)
      .then((c) => {
        controller = c;
        if (settled) c.abort();
      })
      .catch((e: unknown) => finish({ kind: 'error', detail: describe(e) }));
  });
}
