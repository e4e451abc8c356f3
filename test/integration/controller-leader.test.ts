/**
 * Leader election between worker replicas' controllers (workers/controller/leader.ts) on a real
 * Lease in cluster-a's apiserver. What each replica runs while it leads is a recorder standing in
 * for the controller (kube-requests.test.ts runs the real one): the subject is who runs, and when.
 * One replica leads at a time; a leader that stops hands over at once (it releases the Lease); a
 * leader cut off from the apiserver stops its controller before the other may take over, so two
 * controllers never run at once.
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaderOnly } from '../../workers/controller/leader';
import { freshNamespace, kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { stallProxy } from '../helpers/stall-proxy';
import type { StallProxy } from '../helpers/stall-proxy';
import { until } from '../helpers/until';

const kc = kubeconfigFor('cluster-a');
const leases = kc.makeApiClient(CoordinationV1Api);
const name = 'rotor-controller';
let ns = '';

/** Spans during which each replica's controller ran, on one clock. */
const spans: { who: string; from: number; to?: number }[] = [];

function replica(who: string, kubeconfig: KubeConfig = kc) {
  return leaderOnly({ kubeconfig, namespace: ns, name, identity: who, leaseDurationMs: 6_000, retryMs: 500 }, () => {
    const span: (typeof spans)[number] = { who, from: Date.now() };
    spans.push(span);
    return {
      settled: () => Promise.resolve(),
      stop: () => {
        span.to = Date.now();
        return Promise.resolve();
      },
    };
  });
}

const holder = async () => (await leases.readNamespacedLease({ name, namespace: ns })).spec?.holderIdentity;

/** No two spans overlap: at most one controller ran at any moment. */
function expectOneAtATime(): void {
  const sorted = [...spans].sort((a, b) => a.from - b.from);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    expect(prev?.to, `${prev?.who} still ran when ${sorted[i]?.who} started`).toBeDefined();
    expect(prev?.to ?? Infinity).toBeLessThanOrEqual(sorted[i]?.from ?? 0);
  }
}

beforeAll(async () => {
  ns = await freshNamespace(kc, 'leader');
});
afterAll(async () => {
  if (ns) await purgeNamespace(kc, ns);
});

describe('controller leader election', () => {
  it('one replica leads; a leader that stops hands over at once, by releasing the Lease', async () => {
    spans.length = 0;
    const a = replica('pod-a');
    const b = replica('pod-b');
    try {
      await until('nobody led', () => Promise.resolve(a.leading() || b.leading() || undefined), 30_000);
      // Give a contender time to (wrongly) start too.
      await new Promise((r) => setTimeout(r, 2_000));
      expect([a.leading(), b.leading()].filter(Boolean)).toHaveLength(1);
      const [leader, other] = a.leading() ? [a, b] : [b, a];
      const leaderName = a.leading() ? 'pod-a' : 'pod-b';
      expect(await holder()).toBe(leaderName);

      const stoppedAt = Date.now();
      await leader.stop();
      await until('the other replica never led', () => Promise.resolve(other.leading() || undefined), 30_000);
      // Well within the 6 s lease duration: the release, not the expiry, handed over.
      expect(Date.now() - stoppedAt).toBeLessThan(5_000);
      expect(await holder()).toBe(leaderName === 'pod-a' ? 'pod-b' : 'pod-a');
      expectOneAtATime();
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('a leader cut off from the apiserver stops its controller before the other takes over', async () => {
    spans.length = 0;
    await leases.deleteNamespacedLease({ name, namespace: ns }).catch(() => undefined);
    const server = new URL(kc.getCurrentCluster()?.server ?? '');
    let proxy: StallProxy | undefined;
    proxy = await stallProxy({ host: server.hostname, port: Number(server.port) });
    const viaProxy = kubeconfigFor('cluster-a');
    const cluster = viaProxy.getCurrentCluster();
    if (!cluster) throw new Error('cluster-a has no cluster entry');
    viaProxy.clusters = viaProxy.clusters.map((c) =>
      c.name === cluster.name ? { ...c, server: `https://${proxy?.address ?? ''}` } : c,
    );
    const a = replica('pod-a', viaProxy);
    let b: ReturnType<typeof replica> | undefined;
    try {
      await until('pod-a never led', () => Promise.resolve(a.leading() || undefined), 30_000);
      b = replica('pod-b');
      await new Promise((r) => setTimeout(r, 1_500));
      expect(b.leading()).toBe(false);

      // pod-a's renewals get no answer from now on.
      await proxy.stall();
      await until('pod-b never took over', () => Promise.resolve(b?.leading() || undefined), 30_000);
      expect(a.leading()).toBe(false);
      expect(await holder()).toBe('pod-b');
      expectOneAtATime();
      const aSpan = spans.find((s) => s.who === 'pod-a');
      const bSpan = spans.find((s) => s.who === 'pod-b');
      // pod-a stepped down at least one retry before pod-b started: never two controllers at once.
      expect((bSpan?.from ?? 0) - (aSpan?.to ?? Infinity)).toBeGreaterThanOrEqual(500);
    } finally {
      proxy.release();
      await a.stop();
      await b?.stop();
      await proxy.close();
      proxy = undefined;
    }
  });
});
