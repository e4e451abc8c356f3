/**
 * The worker chart (deploy/helm/rotor) installed with the stack's Helm into a namespace of
 * cluster-a, its pods running the worker image, adapted to the local stack's network only as far
 * as they must be: the stack's services listen on 127.0.0.1 of this machine, which pods on the
 * nodes' bridge cannot reach (docs/production.md, "In the local stack"), so the test switches the
 * chart's pod template to the node's network (hostNetwork). On one node, two such replicas share
 * its ports, so their probe and metrics ports (which only the kubelet and Prometheus use) are
 * turned off and the probes dropped; everything else is what the chart renders. The pods are held
 * Pending by a node selector until then, so no pod of the unadapted template ever starts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { stackPaths } from '../../dev/local-stack/config';
import { helmBinary } from '../../dev/local-stack/helm';

const run = promisify(execFile);
const chart = 'deploy/helm/rotor';
/** The node label nothing carries: the chart's pods wait on it until the test adapts them. */
const heldBy = 'rotor.dev/chart-test-held';

export interface ChartRelease {
  name: string;
  namespace: string;
  /** The Deployment the chart made (`<release>-rotor`). */
  deployment: string;
  /** The release's adapted worker pods that are not being deleted. */
  pods(): Promise<V1Pod[]>;
  /** `helm uninstall`. */
  uninstall(): Promise<void>;
}

/**
 * `helm install <name> deploy/helm/rotor` into `namespace` of the kubeconfig's `context` with
 * `values` (on top of the chart's), then the pod template switched to the node's network as above.
 * CRDs are skipped: the stack applies them.
 */
export async function installWorkerChart(
  kc: KubeConfig,
  o: { name: string; namespace: string; kubeconfigFile: string; context: string; values: Record<string, unknown> },
): Promise<ChartRelease> {
  const helm = await helmBinary({ paths: stackPaths(), log: (l) => console.log(l) });
  const dir = mkdtempSync(join(tmpdir(), 'rotor-chart-release-'));
  const valuesFile = join(dir, 'values.yaml');
  const nodeSelector = { ...(o.values['nodeSelector'] as Record<string, string> | undefined), [heldBy]: 'true' };
  writeFileSync(valuesFile, stringify({ ...o.values, nodeSelector }), { mode: 0o600 });
  const kube = ['--namespace', o.namespace, '--kubeconfig', o.kubeconfigFile, '--kube-context', o.context];
  try {
    await run(helm, ['install', o.name, chart, ...kube, '--skip-crds', '-f', valuesFile], {
      maxBuffer: 16 * 1024 * 1024,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const deployment = o.name.includes('rotor') ? o.name : `${o.name}-rotor`;
  const d = await apps.readNamespacedDeployment({ name: deployment, namespace: o.namespace });
  const env = d.spec?.template.spec?.containers[0]?.env ?? [];
  const off = ['ROTOR_HEALTH_PORT', 'ROTOR_METRICS_PORT'].map((name) => {
    const i = env.findIndex((e) => e.name === name);
    if (i < 0) throw new Error(`the chart's worker has no ${name}`);
    return { op: 'replace', path: `/spec/template/spec/containers/0/env/${i}/value`, value: '0' };
  });
  const remaining = Object.keys(nodeSelector).filter((k) => k !== heldBy);
  await apps.patchNamespacedDeployment(
    {
      name: deployment,
      namespace: o.namespace,
      body: [
        { op: 'add', path: '/spec/template/spec/hostNetwork', value: true },
        remaining.length
          ? { op: 'remove', path: `/spec/template/spec/nodeSelector/${heldBy.replace('/', '~1')}` }
          : { op: 'remove', path: '/spec/template/spec/nodeSelector' },
        ...['ports', 'readinessProbe', 'livenessProbe', 'startupProbe'].map((field) => ({
          op: 'remove',
          path: `/spec/template/spec/containers/0/${field}`,
        })),
        ...off,
      ],
    },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  return {
    name: o.name,
    namespace: o.namespace,
    deployment,
    async pods() {
      const list = await core.listNamespacedPod({
        namespace: o.namespace,
        labelSelector: `app.kubernetes.io/instance=${o.name}`,
      });
      return list.items.filter((p) => p.spec?.hostNetwork && !p.metadata?.deletionTimestamp);
    },
    async uninstall() {
      await run(helm, ['uninstall', o.name, ...kube]);
    },
  };
}
