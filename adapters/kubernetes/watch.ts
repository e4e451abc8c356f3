/**
 * Waiting on one Kubernetes object with client-node's `ListWatch` informer. It lists, watches from
 * the listed resourceVersion, resumes after a watch the server ends and lists again after 410 Gone.
 * What it leaves to its user, done here: restarting after a failed list or watch (it stops on
 * errors), backing off while the apiserver is unreachable, and bounding each watch request.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ADD, ApiException, CONNECT, DELETE, ERROR, ListWatch, UPDATE, Watch } from '@kubernetes/client-node';
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

/** Why a new watch was opened; for diagnostics and tests. */
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
  /** Server-side lifetime of each watch request, so a silently dead connection cannot hang a wait. */
  timeoutSeconds?: number;
  onRestart?: (restart: WatchRestart) => void;
}

const maxBackoffMs = 5000;

/** True for failures worth retrying: network errors, 429 and 5xx. */
export function isTransient(e: unknown): boolean {
  if (e instanceof ApiException) return e.code === 429 || e.code >= 500;
  const status = (e as { statusCode?: number }).statusCode;
  if (typeof status === 'number') return status === 429 || status >= 500;
  return true;
}

function describe(e: unknown): string {
  if (e instanceof ApiException) return `HTTP ${e.code}`;
  const err = e as { message?: string; cause?: { code?: string }; code?: string; statusCode?: number };
  const code = err.cause?.code ?? err.code ?? (err.statusCode ? `HTTP ${err.statusCode}` : undefined);
  return [err.message, code].filter(Boolean).join(' ') || String(e);
}

/** client-node's Watch with bookmarks (fresh resourceVersions on quiet objects) and a bounded request. */
class BoundedWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly timeoutSeconds: number,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds },
      callback,
      done,
    );
  }
}

/**
 * Calls `until` with the object's current state (undefined while it does not exist) after each
 * list and on every change, and resolves with its first non-undefined result. Transient failures
 * back off up to 5 s and start the informer again (from the last resourceVersion, or with a list
 * when it has none); others (403, 404 of the collection, ...) reject. Only the object's state is
 * passed to `until`: this helper never logs objects.
 */
export function waitForObject<T extends KubernetesObject, R>(
  target: WatchTarget<T>,
  until: (obj: T | undefined) => R | undefined,
  options: WaitOptions,
): Promise<R> {
  const { signal } = options;
  const informer = new ListWatch<T>(
    target.path,
    new BoundedWatch(target.kubeconfig, options.timeoutSeconds ?? 20),
    () => target.list(),
    false,
    undefined,
    `metadata.name=${target.name}`,
  );

  return new Promise<R>((resolve, reject) => {
    let settled = false;
    let connects = 0;
    let failure: string | undefined;
    let backoffMs = 0;
    // A start whose list or watch failed says nothing about the object: only a clean one is checked.
    let failedSinceStart = false;

    const finish = (outcome: { value: R } | { error: Error }) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      void informer.stop();
      if ('value' in outcome) resolve(outcome.value);
      else reject(outcome.error);
    };
    const onAbort = () => finish({ error: signal.reason as Error });
    const check = (obj: T | undefined) => {
      if (settled) return;
      try {
        const found = until(obj);
        if (found !== undefined) finish({ value: found });
      } catch (e) {
        finish({ error: e as Error });
      }
    };
    const current = () => informer.list().find((o) => o.metadata?.name === target.name);
    const start = () => {
      failedSinceStart = false;
      informer.start().then(
        () => {
          if (failedSinceStart) return;
          backoffMs = 0;
          check(current());
        },
        (e: unknown) => onError(e),
      );
    };
    const onError = (e: unknown) => {
      if (settled) return;
      failedSinceStart = true;
      if (!isTransient(e)) return finish({ error: e as Error });
      failure = describe(e);
      backoffMs = Math.min(maxBackoffMs, backoffMs ? backoffMs * 2 : 250);
      delay(backoffMs, undefined, { signal }).then(start, () => undefined);
    };

    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    informer.on(ADD, check);
    informer.on(UPDATE, check);
    informer.on(DELETE, () => check(undefined));
    informer.on(ERROR, onError);
    informer.on(CONNECT, () => {
      if (connects++ === 0 || settled) return;
      const relist = informer.latestResourceVersion() === '';
      if (failure !== undefined) options.onRestart?.({ reason: 'error', relist, detail: failure });
      else options.onRestart?.({ reason: relist ? 'gone' : 'ended', relist });
      failure = undefined;
    });
    start();
  });
}
