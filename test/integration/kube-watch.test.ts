/**
 * The watch helper (adapters/kubernetes/watch.ts, on client-node's ListWatch) against a real kube-apiserver of the local stack
 * (`dev/stack up kube`): it sees another client's change quickly, and keeps watching
 * across watches the server ends, connections reset under it and, on a private etcd + apiserver
 * whose history the test compacts, an expired resourceVersion.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForObject } from '../../adapters/kubernetes/watch';
import type { WatchRestart, WatchTarget } from '../../adapters/kubernetes/watch';
import { freshNamespace, kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { privateKube } from '../helpers/private-kube';
import type { PrivateKube } from '../helpers/private-kube';

const context = 'cluster-c';
const kc = kubeconfigFor(context);
// A second client, as another writer would have: the watch must not depend on its own writes.
const writer = kubeconfigFor(context).makeApiClient(CoreV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
let namespace = '';

const encode = (s: string) => Buffer.from(s).toString('base64');

function secretTarget(
  config: KubeConfig,
  name: string,
  list?: WatchTarget<V1Secret>['list'],
  ns = namespace,
): WatchTarget<V1Secret> {
  const api = config.makeApiClient(CoreV1Api);
  return {
    kubeconfig: config,
    path: `/api/v1/namespaces/${ns}/secrets`,
    name,
    list: list ?? (() => api.listNamespacedSecret({ namespace: ns, fieldSelector: `metadata.name=${name}` })),
  };
}

async function makeSecret(name: string, marker: string): Promise<void> {
  await writer.createNamespacedSecret({ namespace, body: { metadata: { name }, data: { marker: encode(marker) } } });
}

/**
 * Writes `marker`; returns when the PATCH was sent. The watch event can arrive before the PATCH
 * response does, so latency is measured from the request.
 */
async function setMarker(name: string, marker: string): Promise<number> {
  const sent = performance.now();
  await writer.patchNamespacedSecret({ name, namespace, body: { data: { marker: encode(marker) } } }, mergePatch);
  return sent;
}

const hasMarker = (marker: string) => (s: V1Secret | undefined) =>
  s?.data?.['marker'] === encode(marker) ? performance.now() : undefined;

beforeAll(async () => {
  namespace = await freshNamespace(kc, 'rotor-watch');
});

afterAll(async () => {
  if (namespace) await purgeNamespace(kc, namespace);
});

describe('waitForObject (kube-watch)', () => {
  it('sees a change made by another client as an event, well within one watch period', async () => {
    await makeSecret('quick', 'one');
    // Bounded by the watch's own period, not by a fixed "< N ms" that a loaded 2-core machine
    // stretches: a change found only when a watch ends and starts again would take up to a period.
    const periodSeconds = 20;
    const samples: number[] = [];
    for (const marker of ['two', 'three', 'four']) {
      const seen = waitForObject(secretTarget(kc, 'quick'), hasMarker(marker), {
        signal: AbortSignal.timeout(3 * periodSeconds * 1000),
        timeoutSeconds: periodSeconds,
      });
      await new Promise((r) => setTimeout(r, 300));
      const written = await setMarker('quick', marker);
      samples.push((await seen) - written);
    }
    console.log(
      `kube-watch: change seen ${samples.map((ms) => `${ms.toFixed(1)}ms`).join(', ')} after the writer sent its PATCH`,
    );
    expect(Math.max(...samples)).toBeLessThan((periodSeconds * 1000) / 4);
  });

  it('resolves at once when the object already matches, and treats a missing object as undefined', async () => {
    await makeSecret('present', 'here');
    await expect(
      waitForObject(secretTarget(kc, 'present'), hasMarker('here'), { signal: AbortSignal.timeout(60_000) }),
    ).resolves.toBeTypeOf('number');
    const states: (V1Secret | undefined)[] = [];
    const absent = waitForObject(secretTarget(kc, 'later'), (s) => (states.push(s), s ? true : undefined), {
      signal: AbortSignal.timeout(60_000),
    });
    await new Promise((r) => setTimeout(r, 200));
    await makeSecret('later', 'x');
    await expect(absent).resolves.toBe(true);
    expect(states[0]).toBeUndefined();
  });

  it('re-watches from the last resourceVersion when the server ends the watch', async () => {
    await makeSecret('short', 'a');
    const restarts: WatchRestart[] = [];
    // timeoutSeconds 1: the API server closes every watch after a second.
    const seen = waitForObject(secretTarget(kc, 'short'), hasMarker('b'), {
      signal: AbortSignal.timeout(15_000),
      timeoutSeconds: 1,
      onRestart: (r) => restarts.push(r),
    });
    await new Promise((r) => setTimeout(r, 3500));
    const written = await setMarker('short', 'b');
    const at = await seen;
    console.log(
      `kube-watch: after ${restarts.length} server-ended watches, change seen ${(at - written).toFixed(1)}ms after the write was sent`,
    );
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    expect(restarts.every((r) => r.reason === 'ended' && !r.relist)).toBe(true);
  });

  describe('through a TCP proxy that resets connections', () => {
    let proxy: Server;
    const sockets = new Set<Socket>();
    let proxied: KubeConfig;

    beforeAll(async () => {
      const upstream = new URL(kc.getCurrentCluster()?.server ?? '');
      proxy = createServer((client) => {
        const server = connect(Number(upstream.port), upstream.hostname);
        for (const s of [client, server]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(server).pipe(client);
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const port = (proxy.address() as AddressInfo).port;
      // Same CA and token; the serving certificate names 127.0.0.1, so only the port changes.
      proxied = new KubeConfig();
      proxied.loadFromOptions({
        clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
        users: kc.users,
        contexts: kc.contexts,
        currentContext: context,
      });
    });

    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    });

    it('watches again after ECONNRESET', async () => {
      await makeSecret('reset', 'a');
      const restarts: WatchRestart[] = [];
      const seen = waitForObject(secretTarget(proxied, 'reset'), hasMarker('b'), {
        signal: AbortSignal.timeout(15_000),
        onRestart: (r) => restarts.push(r),
      });
      await new Promise((r) => setTimeout(r, 800));
      expect(sockets.size).toBeGreaterThan(0);
      for (const s of sockets) s.resetAndDestroy();
      await new Promise((r) => setTimeout(r, 800));
      const written = await setMarker('reset', 'b');
      const at = await seen;
      console.log(
        `kube-watch: after a connection reset (${restarts.map((r) => `${r.reason}: ${r.detail ?? ''}`).join('; ')}), change seen ${(at - written).toFixed(1)}ms after the write was sent`,
      );
      expect(restarts.some((r) => r.reason === 'error')).toBe(true);
    });
  });

  // The shared apiservers serve watches from their watch cache, which answers an old resourceVersion
  // without 410 on a young stack. A private apiserver without one watches etcd itself, so compacting
  // etcd expires a version at once.
  describe('on a private apiserver without a watch cache, after etcd compacted', () => {
    let dir = '';
    let pk: PrivateKube | undefined;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'rotor-kube-watch-'));
      pk = await privateKube(dir, ['--watch-cache=false']);
      // A cold apiserver on a loaded 2-core machine may need most of privateKube's own 4-minute bound.
    }, 300_000);
    afterAll(async () => {
      await pk?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('lists again after 410 Gone (expired resourceVersion) and sees the change made meanwhile', async () => {
      if (!pk) throw new Error('private apiserver did not start');
      const plane = pk;
      const { kubeconfig } = plane;
      const api = kubeconfig.makeApiClient(CoreV1Api);
      const ns = 'default';
      const put = (name: string, marker: string) =>
        api.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, data: { marker: encode(marker) } } });
      await put('gone', 'a');
      const restarts: WatchRestart[] = [];
      const listedVersions: string[] = [];
      let compactedAt = 0;
      // After the first list, the object changes and etcd compacts past the listed version before
      // the watch starts: the change is only in compacted history, so a watch can never deliver it.
      const list = async () => {
        const listed = await api.listNamespacedSecret({ namespace: ns, fieldSelector: 'metadata.name=gone' });
        listedVersions.push(listed.metadata?.resourceVersion ?? '');
        if (listedVersions.length === 1) {
          await api.patchNamespacedSecret(
            { name: 'gone', namespace: ns, body: { data: { marker: encode('b') } } },
            mergePatch,
          );
          await put('other', 'x');
          compactedAt = await plane.revision();
          await plane.compact(compactedAt);
        }
        return listed;
      };
      await expect(
        waitForObject(secretTarget(kubeconfig, 'gone', list, ns), hasMarker('b'), {
          signal: AbortSignal.timeout(30_000),
          onRestart: (r) => restarts.push(r),
        }),
      ).resolves.toBeTypeOf('number');
      console.log(
        `kube-watch: listed at ${listedVersions.join(', ')}; etcd compacted at ${compactedAt}; restarts: ${restarts.map((r) => r.reason).join(', ')}`,
      );
      expect(Number(listedVersions[0])).toBeLessThan(compactedAt);
      expect(restarts).toEqual([{ reason: 'gone', relist: true }]);
      expect(listedVersions).toHaveLength(2);
    });
  });

  it('rejects with the abort reason when its signal aborts', async () => {
    const controller = new AbortController();
    const waiting = waitForObject(secretTarget(kc, 'never'), () => undefined, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopped by test')), 300);
    await expect(waiting).rejects.toThrow('stopped by test');
  });
});
