import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { runClusterBatch, syncOneOver } from '../../activities/cluster-batch';
import { createActivities } from '../../activities/index';
import { rotorCodec } from '../../adapters/temporal/data-converter';
import type { ClusterBatchInput } from '../../core/cluster-batch';
import type { ClusterInput } from '../../core/contracts';
import { WorkflowErrorTypes } from '../../core/failures';
import type { PlaybookInput } from '../../core/playbook/schema';
import type { RotationStatus } from '../../core/status';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { recordHistory } from '../helpers/history-recorder';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';

useStackEnv();

/**
 * Batched cluster steps at fleet size, at workflow level: store activities are real (moto); the
 * clusters are fakes behind the real batch runner (`runClusterBatch`), recording what each cluster
 * was asked to serve. The real batch activity is exercised against real apiservers in
 * cluster-batch-kube.test.ts.
 */
function fakeFleet(failIn?: string) {
  const serving = new Map<string, { current: string; other: string | null }>();
  const restored: string[] = [];
  let original: string | undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  const steps = {
    async deliverToCluster(i: ClusterInput) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      original ??= i.versions.current.version;
      if (i.versions.other === null && i.versions.current.version === original) restored.push(i.cluster.name);
      serving.set(i.cluster.name, { current: i.versions.current.version, other: i.versions.other?.version ?? null });
    },
    async verifyCluster(i: ClusterInput) {
      // The failing cluster fails while the rest of its batch is still in flight.
      await new Promise((r) => setTimeout(r, 5));
      if (failIn === i.cluster.name && i.versions.other !== null && i.versions.current.version === original)
        throw ApplicationFailure.create({
          type: 'ClusterNotConverged',
          message: `${i.cluster.name} did not converge (injected)`,
          nonRetryable: true,
        });
    },
  };
  const syncClusterBatch = (input: ClusterBatchInput) => runClusterBatch(input, syncOneOver(input, steps), () => []);
  return { serving, restored, maxInFlight: () => maxInFlight, syncClusterBatch };
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `c-${String(i).padStart(4, '0')}`);
const fleet = (n: number) =>
  names(n).map((name) => ({ name, delivery: 'push' as const, namespace: 'payments', secretName: 'api-key' }));

async function rotate(spec: Partial<PlaybookInput['spec']>, fakes: ReturnType<typeof fakeFleet>, fixture: string) {
  const ts = await awsTestStore('batches-initial-value');
  const real = createActivities(depsFromEnv());
  const tw = await startTestWorker({
    ...real,
    syncClusterBatch: fakes.syncClusterBatch,
    // The fake clusters have no apiserver to look for consumer pods in (plan-consumers.test.ts covers that).
    planRotation: (input: Parameters<typeof real.planRotation>[0]) => real.planRotation({ ...input, clusters: [] }),
    // Nor pods for the consumer gate (consumer-gate.test.ts gates real pods).
    consumerGate: (input: Parameters<typeof real.consumerGate>[0]) => real.consumerGate({ ...input, clusters: [] }),
  });
  const playbook = testPlaybook(ts.store, spec);
  try {
    return await tw.run(async () => {
      const h: WorkflowHandle = await startRotation(tw, playbook);
      const o = await outcomeOf(h);
      await recordHistory(h, fixture, rotorCodec(), { children: true });
      const history = await h.fetchHistory();
      // Batch children only: the store-location lock is a child workflow of its own.
      const started = (history.events ?? []).filter(
        (e) =>
          e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED &&
          e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name !== 'storeLockWorkflow',
      );
      return {
        o,
        ts,
        status: await h.query<RotationStatus>(statusQuery),
        events: history.events?.length ?? 0,
        children: started.length,
      };
    });
  } finally {
    await tw.close();
  }
}

describe('batched cluster steps', () => {
  it('rotates 600 clusters with one child per batch per step, every cluster phase in the status', async () => {
    const fakes = fakeFleet();
    const { o, status, events, children } = await rotate(
      { clusters: fleet(600), maxParallelClusters: 60 },
      fakes,
      'batch-children-success',
    );
    expect(o.ok).toBe(true);
    // dual-read, verify, promote, revoke: three batches of 200 each.
    expect(children).toBe(12);
    expect(events).toBeLessThan(300);
    expect(fakes.maxInFlight()).toBeLessThanOrEqual(60);
    expect(new Set(status.clusters.map((c) => c.phase))).toEqual(new Set(['revoked']));
    expect(status.clusters).toHaveLength(600);
    for (const c of fleet(600))
      expect(fakes.serving.get(c.name)).toEqual({ current: status.current?.version, other: null });
  }, 180_000);

  it('a cluster failing mid-batch is named, and exactly the touched clusters are restored', async () => {
    const fakes = fakeFleet('c-0150');
    const all = fleet(310);
    const { o, status, ts } = await rotate(
      { clusters: all, waves: [names(300), names(310).slice(300)], maxParallelClusters: 20 },
      fakes,
      'batch-children-rolled-back',
    );
    expect(o.ok).toBe(false);
    if (o.ok) return;
    const failure = o.error.cause as ApplicationFailure;
    expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
    expect(failure.message).toContain('c-0150: c-0150 did not converge (injected)');
    const snap = await ts.snapshot();
    // Both batches of the first wave may have delivered, so all 300 are restored; the second wave never started.
    expect([...fakes.restored].sort()).toEqual(names(300));
    for (const name of names(300))
      expect(fakes.serving.get(name)).toEqual({ current: snap.currentVersion, other: null });
    for (const name of names(310).slice(300)) expect(fakes.serving.has(name)).toBe(false);
    const phases = new Map(status.clusters.map((c) => [c.name, c.phase]));
    expect(names(300).every((n) => phases.get(n) === 'rolled-back')).toBe(true);
    expect(
      names(310)
        .slice(300)
        .every((n) => phases.get(n) === 'pending'),
    ).toBe(true);
  }, 180_000);
});
