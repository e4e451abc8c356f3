/**
 * Workload rollouts on a real cluster with a real node: a Deployment and a StatefulSet with one
 * running pod each. A rollout is complete when the new pods are Ready. One rollout per workload
 * per rotation, after the Secret converged; a rollback after promote rolls them out once more.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { depsFromEnv } from '../../workers/deps';
import { abortUpdate } from '../../workflows/definitions';
import { kubeconfigFor, purgeNamespace, sleeperTemplate } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';
import { rolloutAnnotation } from '../../core/ids';

useStackEnv();
const kc = kubeconfigFor('cluster-b');
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);
const apiLabels = { app: 'payments-api' };
const ledgerLabels = { app: 'payments-ledger' };

async function workloads(namespace: string): Promise<void> {
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'payments-api' },
      spec: { replicas: 1, selector: { matchLabels: apiLabels }, template: sleeperTemplate(apiLabels) },
    },
  });
  await apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name: 'payments-ledger' },
      spec: {
        replicas: 1,
        serviceName: 'ledger',
        selector: { matchLabels: ledgerLabels },
        template: sleeperTemplate(ledgerLabels),
      },
    },
  });
}

const annotation = (w: V1Deployment | V1StatefulSet) => w.spec?.template.metadata?.annotations?.[rolloutAnnotation];

interface Workload {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  labels: Record<string, string>;
}
const api: Workload = { kind: 'Deployment', name: 'payments-api', labels: apiLabels };
const ledger: Workload = { kind: 'StatefulSet', name: 'payments-ledger', labels: ledgerLabels };
const selector = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/**
 * The pod label and value of the workload's current revision: the pod-template-hash of the
 * Deployment's newest ReplicaSet (its revision annotation is the Deployment's), or the
 * StatefulSet's update revision.
 */
async function currentRevision(namespace: string, w: Workload): Promise<{ label: string; value: string }> {
  if (w.kind === 'StatefulSet') {
    const s = await apps.readNamespacedStatefulSet({ name: w.name, namespace });
    return { label: 'controller-revision-hash', value: s.status?.updateRevision ?? '(none)' };
  }
  const d = await apps.readNamespacedDeployment({ name: w.name, namespace });
  const revision = d.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  const sets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: selector(w.labels) });
  const newest = sets.items.find(
    (rs) =>
      rs.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid) &&
      rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision,
  );
  return { label: 'pod-template-hash', value: newest?.metadata?.labels?.['pod-template-hash'] ?? '(none)' };
}

/**
 * The pods serving the workload: every pod not terminating (a pod with a deletionTimestamp is on
 * its way out and serves no one, however long its kubelet takes to remove it), each with whether
 * it is of the current revision, whether it is Ready, and its rollout annotation.
 */
async function servingPods(
  namespace: string,
  w: Workload,
): Promise<{ currentRevision: boolean; ready: boolean; rollout: string }[]> {
  const revision = await currentRevision(namespace, w);
  const pods = await core.listNamespacedPod({ namespace, labelSelector: selector(w.labels) });
  return pods.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => ({
      currentRevision: p.metadata?.labels?.[revision.label] === revision.value,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      rollout: p.metadata?.annotations?.[rolloutAnnotation] ?? '',
    }));
}

/** One serving pod of the current revision, Ready, carrying `rollout` ('' before any rollout). */
const oneReadyPod = (rollout: string) => [{ currentRevision: true, ready: true, rollout }];

/** The controller's view of a complete rollout of one replica: generation observed, every replica updated and available. */
function rolloutStatus(w: V1Deployment | V1StatefulSet) {
  return {
    generation: w.metadata?.generation,
    observedGeneration: w.status?.observedGeneration,
    replicas: w.status?.replicas,
    updatedReplicas: w.status?.updatedReplicas,
    availableReplicas: w.status?.availableReplicas,
  };
}
const completeAt = (generation: number) => ({
  generation,
  observedGeneration: generation,
  replicas: 1,
  updatedReplicas: 1,
  availableReplicas: 1,
});

/** Waits until both workloads' first pods are Ready, so the rotation rolls out running workloads. */
async function waitReady(namespace: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  const ready = (pods: Awaited<ReturnType<typeof servingPods>>) => pods.length === 1 && pods[0]?.ready === true;
  while (Date.now() < deadline) {
    const [a, l] = await Promise.all([servingPods(namespace, api), servingPods(namespace, ledger)]);
    if (ready(a) && ready(l)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`workloads in ${namespace} did not get Ready pods within 60s`);
}

describe('workload rollouts', () => {
  let tw: TestWorker;
  let namespace: string;
  beforeAll(async () => {
    tw = await startTestWorker(createActivities(depsFromEnv()));
  });
  afterAll(async () => {
    await tw.close();
  });

  async function setup(spec: Parameters<typeof testPlaybook>[1] = {}) {
    namespace = `ro-${randomBytes(4).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await workloads(namespace);
    await waitReady(namespace);
    const ts = await awsTestStore('rollout-initial-value');
    const playbook = testPlaybook(ts.store, {
      clusters: [
        {
          name: 'cluster-b',
          delivery: 'push',
          namespace,
          secretName: 'payments-api-key',
          workloads: [
            { kind: 'Deployment', name: 'payments-api' },
            { kind: 'StatefulSet', name: 'payments-ledger' },
          ],
        },
      ],
      ...spec,
    });
    return { ts, playbook };
  }

  it('rolls each workload out exactly once per rotation and waits until the rollout is complete', async () => {
    const { playbook } = await setup();
    try {
      const { out, runId } = await tw.run(async () => {
        const h = await startRotation(tw, playbook);
        return { out: await outcomeOf(h), runId: h.firstExecutionRunId };
      });
      expect(out.ok).toBe(true);
      const d = await apps.readNamespacedDeployment({ name: 'payments-api', namespace });
      const s = await apps.readNamespacedStatefulSet({ name: 'payments-ledger', namespace });
      expect(annotation(d)).toBe(runId);
      expect(annotation(s)).toBe(runId);
      // Created at generation 1; the one rollout of this rotation made it 2 — not one per key or per
      // step — and the controllers report it complete when the rotation ends.
      expect(rolloutStatus(d)).toEqual(completeAt(2));
      expect(rolloutStatus(s)).toEqual(completeAt(2));
      // Complete means the one pod serving each workload is of the new revision, Ready, and carries this
      // rotation's token; an old pod still terminating (its deletionTimestamp set) serves no one.
      expect(await servingPods(namespace, api)).toEqual(oneReadyPod(runId));
      expect(await servingPods(namespace, ledger)).toEqual(oneReadyPod(runId));
    } finally {
      await purgeNamespace(kc, namespace).catch(() => undefined);
    }
  });

  it('an abort after promote restores the old version and rolls the workloads out once more', async () => {
    const { playbook } = await setup({ approval: { beforeRevoke: true } });
    try {
      const runId = await tw.run(async () => {
        const h = await startRotation(tw, playbook);
        // Two real workload rollouts first: far more than the default 30 s on a loaded machine.
        await waitForPhase(h, 'approval', 180_000);
        await h.executeUpdate(abortUpdate, { args: [{ by: 'test', reason: 'rollback' }] });
        await outcomeOf(h);
        return h.firstExecutionRunId;
      });
      const d = await apps.readNamespacedDeployment({ name: 'payments-api', namespace });
      const s = await apps.readNamespacedStatefulSet({ name: 'payments-ledger', namespace });
      expect(annotation(d)).toBe(`${runId}/rolled-back`);
      expect(annotation(s)).toBe(`${runId}/rolled-back`);
      expect(rolloutStatus(d)).toEqual(completeAt(3));
      expect(rolloutStatus(s)).toEqual(completeAt(3));
      expect(await servingPods(namespace, api)).toEqual(oneReadyPod(`${runId}/rolled-back`));
      expect(await servingPods(namespace, ledger)).toEqual(oneReadyPod(`${runId}/rolled-back`));
    } finally {
      await purgeNamespace(kc, namespace).catch(() => undefined);
    }
  });
});
