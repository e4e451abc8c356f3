/**
 * The watch helper (activities/kube-watch.ts) against a real kube-apiserver of the local stack
 * (`dev/stack up kube`): it sees another client's change quickly, and keeps watching
 * across watches the server ends, an expired resourceVersion and connections reset under it.
 */
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForObject } from '../../adapters/kubernetes/watch';
import type { WatchRestart, WatchTarget } from '../../adapters/kubernetes/watch';
import { freshNamespace, kubeconfigFor, purgeNamespace } from '../helpers/kube';

const context = 'cluster-c';
const kc = kubeconfigFor(context);
const core = kc.makeApiClient(CoreV1Api);
// A second client, as another writer would have: the watch must not depend on its own writes.
const writer = kubeconfigFor(context).makeApiClient(CoreV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
let namespace = '';

const encode = (s: string) => Buffer.from(s).toString('base64');

function secretTarget(config: KubeConfig, name: string, list?: WatchTarget<V1Secret>['list']): WatchTarget<V1Secret> {
  const api = config.makeApiClient(CoreV1Api);
  return {
    kubeconfig: config,
    path: `/api/v1/namespaces/${namespace}/secrets`,
    name,
    list: list ?? (() => api.listNamespacedSecret({ namespace, fieldSelector: `metadata.name=${name}` })),
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
  it('sees a change made by another client within about a second', async () => {
    await makeSecret('quick', 'one');
    const samples: number[] = [];
    for (const marker of ['two', 'three', 'four']) {
      const seen = waitForObject(secretTarget(kc, 'quick'), hasMarker(marker), { signal: AbortSignal.timeout(10_000) });
      await new Promise((r) => setTimeout(r, 300));
      const written = await setMarker('quick', marker);
      samples.push((await seen) - written);
    }
    console.log(
      `kube-watch: change seen ${samples.map((ms) => `${ms.toFixed(1)}ms`).join(', ')} after the writer sent its PATCH`,
    );
    expect(Math.max(...samples)).toBeLessThan(3000);
  });

  it('resolves at once when the object already matches, and treats a missing object as undefined', async () => {
    await makeSecret('present', 'here');
    await expect(
      waitForObject(secretTarget(kc, 'present'), hasMarker('here'), { signal: AbortSignal.timeout(5000) }),
    ).resolves.toBeTypeOf('number');
    const states: (V1Secret | undefined)[] = [];
    const absent = waitForObject(secretTarget(kc, 'later'), (s) => (states.push(s), s ? true : undefined), {
      signal: AbortSignal.timeout(5000),
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

  // Declared in test/declared-skips.ts: a young apiserver never answers this watch with 410.
  it.skip('lists again after 410 Gone (expired resourceVersion)', async () => {
    await makeSecret('gone', 'a');
    const restarts: WatchRestart[] = [];
    let lists = 0;
    // The first list reports a long-compacted resourceVersion, so the first watch is answered with 410.
    const list = async () => {
      const real = await core.listNamespacedSecret({ namespace, fieldSelector: 'metadata.name=gone' });
      return ++lists === 1 ? { ...real, metadata: { ...real.metadata, resourceVersion: '1' } } : real;
    };
    const seen = waitForObject(secretTarget(kc, 'gone', list), hasMarker('b'), {
      signal: AbortSignal.timeout(15_000),
      onRestart: (r) => restarts.push(r),
    });
    await new Promise((r) => setTimeout(r, 1000));
    await setMarker('gone', 'b');
    await seen;
    expect(restarts[0]).toMatchObject({ reason: 'gone', relist: true });
    expect(lists).toBe(2);
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

    it('lists and watches again after ECONNRESET', async () => {
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
      expect(restarts.some((r) => r.reason === 'error' && r.relist)).toBe(true);
    });
  });

  it('rejects with the abort reason when its signal aborts', async () => {
    const controller = new AbortController();
    const waiting = waitForObject(secretTarget(kc, 'never'), () => undefined, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopped by test')), 300);
    await expect(waiting).rejects.toThrow('stopped by test');
  });
});
