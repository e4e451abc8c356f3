/**
 * The stack's real nodes: an ordinary Deployment (no nodeName, no hostNetwork) is scheduled and its
 * pod becomes Ready on each cluster, `dev/stack status --json` reports every node Ready, and a
 * node's teardown (what `dev/stack down` runs per node) leaves nothing running or mounted. The
 * teardown runs on an extra, tainted node of its own, so the shared nodes keep serving other tests.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterNames, stackPaths } from '../../dev/local-stack/config';
import { buildImageArchive } from '../../dev/local-stack/node/images';
import { nodePaths } from '../../dev/local-stack/node/instance';
import type { NodeInstance } from '../../dev/local-stack/node/instance';
import { containerdId, kubeletId, startNode, stopNode } from '../../dev/local-stack/node/lifecycle';
import { mountsUnder, shimPids } from '../../dev/local-stack/node/teardown';
import { runningPid } from '../../dev/local-stack/process';
import { nodeBinaries } from '../../dev/local-stack/services/node';
import { freshNamespace, kubeconfigFor, purgeNamespace, sleeperTemplate } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';

const run = promisify(execFile);
useStackEnv();
const ctx = { paths: stackPaths(), log: () => undefined };

async function readyPod(core: CoreV1Api, namespace: string, selector: string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
    const ready = pods.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    if (ready) return ready;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no Ready pod for ${selector} in ${namespace} within ${timeoutMs}ms`);
}

describe('real nodes in the local stack', () => {
  const namespaces: [string, string][] = [];
  afterAll(async () => {
    await Promise.all(namespaces.map(([c, ns]) => purgeNamespace(kubeconfigFor(c), ns).catch(() => undefined)));
  });

  it('dev/stack status --json lists each cluster’s node as Ready', async () => {
    const { stdout } = await run('dev/stack', ['status', '--json']);
    const status = JSON.parse(stdout) as { services: { name: string; nodes?: unknown }[] };
    expect(status.services.find((s) => s.name === 'node')?.nodes).toEqual(
      clusterNames.map((cluster) => ({ cluster, node: 'localhost', state: 'Ready' })),
    );
  });

  it.each(clusterNames)('a plain Deployment gets a Ready pod with a pod IP on %s', async (cluster) => {
    const kc = kubeconfigFor(cluster);
    const namespace = await freshNamespace(kc, 'node-smoke');
    namespaces.push([cluster, namespace]);
    const labels = { app: 'smoke' };
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'smoke' },
        spec: { replicas: 1, selector: { matchLabels: labels }, template: sleeperTemplate(labels) },
      },
    });
    const pod = await readyPod(kc.makeApiClient(CoreV1Api), namespace, 'app=smoke');
    expect(pod.spec?.nodeName).toBe('localhost');
    expect(pod.spec?.hostNetwork).toBeFalsy();
    expect(pod.status?.podIP).toMatch(/^10\.200\.\d+\.\d+$/);
    // kubectl logs/exec reach the right kubelet: the API server proxies the log of the running container.
    const log = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace, container: 'app' });
    expect(log).toBe('');
  });

  it('stopping a node deletes its pods, then leaves no process, mount, shim or bridge behind', async () => {
    const suffix = randomBytes(2).toString('hex');
    const id = `node-test-${suffix}`;
    const node: NodeInstance = {
      cluster: 'cluster-c',
      name: `rotor-test-${suffix}`,
      id,
      kubeletPort: 17280,
      healthzPort: 17281,
      subnet: '10.200.99.0/24',
      bridge: `rotor-t${suffix}`,
      taints: [{ key: 'rotor.dev/test-node', effect: 'NoSchedule' }],
      paths: nodePaths(ctx.paths.stateDir, id),
    };
    const kc = kubeconfigFor('cluster-c');
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await freshNamespace(kc, 'node-teardown');
    namespaces.push(['cluster-c', namespace]);
    try {
      await startNode(ctx, node, (await nodeBinaries(ctx)).kubelet, await buildImageArchive(ctx));
      // A pod with a Secret volume (a tmpfs mount the kubelet must unmount) on the test node only.
      await core.createNamespacedSecret({ namespace, body: { metadata: { name: 's' }, stringData: { k: 'v' } } });
      const template = sleeperTemplate({ app: 'pinned' });
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: 'pinned', labels: { app: 'pinned' } },
          spec: {
            ...template.spec,
            containers: (template.spec?.containers ?? []).map((c) => ({
              ...c,
              volumeMounts: [{ name: 's', mountPath: '/s' }],
            })),
            nodeName: node.name,
            tolerations: [{ key: 'rotor.dev/test-node', operator: 'Exists' }],
            volumes: [{ name: 's', secret: { secretName: 's' } }],
          },
        },
      });
      await readyPod(core, namespace, 'app=pinned');
      expect(mountsUnder(node.paths.dir).length).toBeGreaterThan(0);
      expect(shimPids(node).length).toBeGreaterThan(0);

      await stopNode(ctx, node);

      expect((await core.listNamespacedPod({ namespace })).items).toEqual([]);
      expect(mountsUnder(node.paths.dir)).toEqual([]);
      expect(runningPid(ctx, kubeletId(node))).toBeUndefined();
      expect(runningPid(ctx, containerdId(node))).toBeUndefined();
      expect(shimPids(node)).toEqual([]);
      await expect(run('ip', ['link', 'show', node.bridge])).rejects.toThrow();
      const links = existsSync('/var/log/containers') ? readdirSync('/var/log/containers') : [];
      expect(links.filter((l) => l.startsWith('pinned_'))).toEqual([]);
    } finally {
      await stopNode(ctx, node).catch(() => undefined);
      await core.deleteNode({ name: node.name }).catch(() => undefined);
      if (existsSync(node.paths.dir) && mountsUnder(node.paths.dir).length === 0) {
        rmSync(node.paths.dir, { recursive: true, force: true });
      }
    }
  });
});
