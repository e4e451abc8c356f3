/**
 * One controller at a time among the worker replicas: a coordination.k8s.io Lease in the
 * management cluster, held by the replica whose controller runs. The holder renews it every
 * `retryMs`; the others read it and take it over only once it has not changed for a whole
 * `leaseDurationMs` of their own clock (the record's change, as client-go does, not its
 * timestamps: replicas' clocks need not agree). Updates carry the resourceVersion read, so two
 * replicas taking an expired lease at once cannot both win. A holder that cannot renew within the
 * duration stops its controller before anyone else may take over, and a holder that stops
 * releases the lease so the next one starts at once.
 */
import { ApiException, CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import type { Controller } from './controller';

export interface LeaderOptions {
  kubeconfig: KubeConfig;
  /** Where the Lease lives (the release's namespace). */
  namespace: string;
  /** The Lease's name; every replica of one controller uses the same. */
  name: string;
  /** This replica (its pod name); must differ between replicas. */
  identity: string;
  /** How long a lease that stopped changing is still honoured; default 15 s. */
  leaseDurationMs?: number;
  /** Time between renewals (holder) and reads (the others); default 2 s. */
  retryMs?: number;
  onError?: (what: string, e: unknown) => void;
  /** Leadership changes, for the log. */
  onChange?: (leading: boolean) => void;
}

const conflictOrGone = (e: unknown) => e instanceof ApiException && (e.code === 409 || e.code === 404);

/**
 * Runs the controller `start` makes only while this replica holds the Lease: started when it is
 * acquired, stopped when it is lost. `settled()` waits for a pass of the controller this replica
 * runs (so a follower's waits until it leads).
 */
export function leaderOnly(o: LeaderOptions, start: () => Controller): Controller & { leading(): boolean } {
  const api = o.kubeconfig.makeApiClient(CoordinationV1Api);
  const durationMs = o.leaseDurationMs ?? 15_000;
  const retryMs = o.retryMs ?? 2_000;
  let running: Controller | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;
  // The record last seen and when (this replica's clock): expiry is judged from it.
  let seen: { version: string; at: number } | undefined;
  let renewedAt = 0;
  let waiters: (() => void)[] = [];

  const lead = () => {
    if (running) return;
    running = start();
    o.onChange?.(true);
    for (const w of waiters.splice(0)) w();
  };
  const follow = async () => {
    const c = running;
    if (!c) return;
    running = undefined;
    o.onChange?.(false);
    await c.stop();
  };

  const spec = (held: V1Lease | undefined, now: Date) => ({
    holderIdentity: o.identity,
    leaseDurationSeconds: Math.ceil(durationMs / 1000),
    acquireTime: held?.spec?.holderIdentity === o.identity ? held.spec.acquireTime : new V1MicroTime(now.getTime()),
    renewTime: new V1MicroTime(now.getTime()),
    leaseTransitions: (held?.spec?.leaseTransitions ?? 0) + (held && held.spec?.holderIdentity !== o.identity ? 1 : 0),
  });

  /** One attempt to acquire or renew; true while this replica holds the lease. */
  async function tryHold(): Promise<boolean> {
    const now = new Date();
    let lease: V1Lease | undefined;
    try {
      lease = await api.readNamespacedLease({ name: o.name, namespace: o.namespace });
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
    if (!lease) {
      await api.createNamespacedLease({
        namespace: o.namespace,
        body: { metadata: { name: o.name, namespace: o.namespace }, spec: spec(undefined, now) },
      });
      return true;
    }
    const version = lease.metadata?.resourceVersion ?? '';
    if (seen?.version !== version) seen = { version, at: Date.now() };
    const holder = lease.spec?.holderIdentity;
    const expired = !holder || Date.now() - seen.at > (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== o.identity && !expired) return false;
    await api.replaceNamespacedLease({
      name: o.name,
      namespace: o.namespace,
      body: { ...lease, spec: spec(lease, now) },
    });
    return true;
  }

  // Renewal deadline, checked apart from the loop: a call the apiserver never answers must not
  // keep this replica leading past the point where another may take the lease (a margin of two
  // retries short of its duration).
  const watchdog = setInterval(() => {
    if (running && Date.now() - renewedAt > durationMs - 2 * retryMs) void follow();
  }, retryMs / 2);

  const loop = (async () => {
    while (!stopped) {
      try {
        if (await tryHold()) {
          renewedAt = Date.now();
          lead();
        } else await follow();
      } catch (e) {
        // A conflict: another replica changed the lease first (it may have taken it over).
        if (!conflictOrGone(e)) o.onError?.('leader election', e);
      }
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, retryMs);
      });
    }
  })();

  return {
    leading: () => running !== undefined,
    settled: async () => {
      if (!running) await new Promise<void>((r) => waiters.push(r));
      await running?.settled();
    },
    async stop() {
      stopped = true;
      clearInterval(watchdog);
      wake?.();
      await loop;
      const wasLeading = running !== undefined;
      await follow();
      waiters = [];
      if (!wasLeading) return;
      // Release: an empty holder lets the next replica take over without waiting out the duration.
      try {
        const lease = await api.readNamespacedLease({ name: o.name, namespace: o.namespace });
        if (lease.spec?.holderIdentity === o.identity)
          await api.replaceNamespacedLease({
            name: o.name,
            namespace: o.namespace,
            body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
          });
      } catch (e) {
        if (!conflictOrGone(e)) o.onError?.('releasing the leader lease', e);
      }
    },
  };
}
