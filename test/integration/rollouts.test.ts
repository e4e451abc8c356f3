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
import { outcomeOf, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';
import { rotationWorkflowId } from '../../core/ids';
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

/** The rollout annotation of each Ready pod with these labels, and how many pods there are at all. */
async function readyPods(
  namespace: string,
  labels: Record<string, string>,
): Promise<{ ready: string[]; total: number }> {
  const pods = await core.listNamespacedPod({
    namespace,
    labelSelector: Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  });
  const ready = pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  return { ready: ready.map((p) => p.metadata?.annotations?.[rolloutAnnotation] ?? ''), total: pods.items.length };
}

/** Waits until both workloads' first pods are Ready, so the rotation rolls out running workloads. */
async function waitReady(namespace: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [a, l] = await Promise.all([readyPods(namespace, apiLabels), readyPods(namespace, ledgerLabels)]);
    if (a.ready.length === 1 && l.ready.length === 1) return;
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
        const h = await tw.client.workflow.start('rotationWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [{ playbook, trigger: 'manual', requestedBy: 'test' }],
        });
        return { out: await outcomeOf(h), runId: h.firstExecutionRunId };
      });
      expect(out.ok).toBe(true);
      const d = await apps.readNamespacedDeployment({ name: 'payments-api', namespace });
      const s = await apps.readNamespacedStatefulSet({ name: 'payments-ledger', namespace });
      expect(annotation(d)).toBe(runId);
      expect(annotation(s)).toBe(runId);
      // Created at generation 1; the one rollout of this rotation made it 2 — not one per key or per step.
      expect([d.metadata?.generation, s.metadata?.generation]).toEqual([2, 2]);
      expect(d.status?.observedGeneration).toBe(2);
      expect(s.status?.observedGeneration).toBe(2);
      // Complete means the new pods run and are Ready, and the old ones are gone.
      expect(await readyPods(namespace, apiLabels)).toEqual({ ready: [runId], total: 1 });
      expect(await readyPods(namespace, ledgerLabels)).toEqual({ ready: [runId], total: 1 });
    } finally {
      await purgeNamespace(kc, namespace).catch(() => undefined);
    }
  });

  it('an abort after promote restores the old version and rolls the workloads out once more', async () => {
    const { playbook } = await setup({ approval: { beforeRevoke: true } });
    try {
      const runId = await tw.run(async () => {
        const h = await tw.client.workflow.start('rotationWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [{ playbook, trigger: 'manual', requestedBy: 'test' }],
        });
        await waitForPhase(h, 'approval');
        await h.executeUpdate(abortUpdate, { args: [{ by: 'test', reason: 'rollback' }] });
        await outcomeOf(h);
        return h.firstExecutionRunId;
      });
      const d = await apps.readNamespacedDeployment({ name: 'payments-api', namespace });
      expect(annotation(d)).toBe(`${runId}/rolled-back`);
      expect(d.metadata?.generation).toBe(3);
      expect(d.status?.observedGeneration).toBe(3);
      expect(await readyPods(namespace, apiLabels)).toEqual({ ready: [`${runId}/rolled-back`], total: 1 });
    } finally {
      await purgeNamespace(kc, namespace).catch(() => undefined);
    }
  });
});
