/**
 * Batch children against the stack's real apiservers, with the real activities: a fleet above the
 * inline limit (12 playbook clusters spread over the three apiservers, each in a namespace of its
 * own) runs every cluster step in `clusterBatchWorkflow` children. A rotation leaves every Secret
 * serving the new value alone; a rejected canary leaves every Secret serving the old value alone.
 * Values are only compared, never printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { clusterNames } from '../../dev/local-stack/config';
import type { Canary } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { inlineUpTo } from '../../workflows/cluster-batches';
import { freshNamespace, kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';

useStackEnv();
const fleetSize = inlineUpTo + 2;
const secretName = 'batch-key';
interface Target {
  name: string;
  context: string;
  delivery: 'push';
  namespace: string;
  secretName: string;
}
let fleet: Target[] = [];

beforeAll(async () => {
  fleet = await Promise.all(
    Array.from({ length: fleetSize }, async (_, i) => {
      const context = clusterNames[i % clusterNames.length] ?? 'cluster-a';
      const namespace = await freshNamespace(kubeconfigFor(context), 'batch');
      return { name: `b-${String(i).padStart(2, '0')}`, context, delivery: 'push' as const, namespace, secretName };
    }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(fleet.map((c) => purgeNamespace(kubeconfigFor(c.context), c.namespace)));
}, 180_000);

const accepts: Canary = { type: 'command', name: 'accepts', command: ['sh', '-c', 'cat >/dev/null'] } as Canary;
const rejects: Canary = { type: 'command', name: 'rejects', command: ['sh', '-c', 'cat >/dev/null; exit 3'] } as Canary;

async function rotate(canary: Canary) {
  const ts = await awsTestStore('batch-kube-initial-value');
  const before = await ts.snapshot();
  const tw = await startTestWorker(createActivities(depsFromEnv()));
  try {
    const playbook = testPlaybook(ts.store, { clusters: fleet, canaries: [canary], maxParallelClusters: 6 });
    const h = await startRotation(tw, playbook);
    const outcome = await tw.run(() => outcomeOf(h));
    const children = ((await h.fetchHistory()).events ?? []).flatMap((e) => {
      const name = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name;
      return name ? [name] : [];
    });
    return { outcome, before, after: await ts.snapshot(), children };
  } finally {
    await tw.close();
  }
}

const served = (c: Target) => secretData(kubeconfigFor(c.context), c.namespace, secretName);

describe('batch children on real apiservers', () => {
  it('rotates a fleet above the inline limit through batch children: every Secret serves the new value alone', async () => {
    const { outcome, before, after, children } = await rotate(accepts);
    expect(outcome.ok, outcome.ok ? '' : outcome.error.message).toBe(true);
    expect(children.filter((c) => c === 'clusterBatchWorkflow').length).toBeGreaterThanOrEqual(4);
    expect(after.currentVersion).not.toBe(before.currentVersion);
    for (const c of fleet) {
      const data = await served(c);
      expect(data['value'] === after.currentValue, `${c.name} serves the new value`).toBe(true);
      expect(Object.keys(data), `${c.name} serves the new value alone`).toEqual(['value']);
    }
  }, 180_000);

  it('a rejected canary restores every Secret the batches touched to the old value alone', async () => {
    const { outcome, before, after, children } = await rotate(rejects);
    expect(outcome.ok).toBe(false);
    expect(children).toContain('clusterBatchWorkflow');
    expect(after.currentVersion).toBe(before.currentVersion);
    for (const c of fleet) {
      const data = await served(c);
      expect(data['value'] === before.currentValue, `${c.name} serves the old value`).toBe(true);
      expect(Object.keys(data), `${c.name} serves the old value alone`).toEqual(['value']);
    }
  }, 180_000);
});
