import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { runClusterBatch, syncOneOver } from '../../activities/cluster-batch';
import { createActivities } from '../../activities/index';
import type { ClusterBatchInput } from '../../core/cluster-batch';
import type { ClusterInput, ClusterReport } from '../../core/contracts';
import type { PlaybookInput } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';
import { WorkflowErrorTypes } from '../../core/failures';
import type { RotationStatus } from '../../core/status';

useStackEnv();

/**
 * Workflow-level test of waves, the canary gate between waves, bounded fan-out and cross-cluster
 * compensation. Store activities are real (moto); cluster activities are fakes that record what the
 * workflow asked each cluster to serve (activities/kubernetes.ts is exercised against real clusters
 * in its own tests).
 */
interface Event {
  at: number;
  what: string;
}

/** Fake cluster activities; `failIn` makes that cluster never converge on dual-read (old current + new beside it). */
function fakeClusters(failIn?: string) {
  const log: Event[] = [];
  const serving = new Map<string, { current: string; other: string | null }>();
  let original: string | undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  const deliverToCluster = async (i: ClusterInput) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 50));
    inFlight--;
    original ??= i.versions.current.version;
    serving.set(i.cluster.name, { current: i.versions.current.version, other: i.versions.other?.version ?? null });
    log.push({ at: Date.now(), what: `deliver ${i.cluster.name}` });
  };
  const verifyCluster = (i: ClusterInput): Promise<ClusterReport> => {
    log.push({ at: Date.now(), what: `verify ${i.cluster.name}` });
    const dualRead = i.versions.other !== null && i.versions.current.version === original;
    if (failIn === i.cluster.name && dualRead) {
      return Promise.reject(
        ApplicationFailure.create({
          type: 'ClusterNotConverged',
          message: `${i.cluster.name} did not converge (injected)`,
          nonRetryable: true,
        }),
      );
    }
    return Promise.resolve({ cluster: i.cluster.name, observed: {}, rolledOutWorkloads: [] });
  };
  const steps = { deliverToCluster, verifyCluster };
  // The batched path (one activity per batch) runs the same fake per-cluster steps inside it.
  const syncClusterBatch = (input: ClusterBatchInput) => runClusterBatch(input, syncOneOver(input, steps), () => []);
  return { log, serving, maxInFlight: () => maxInFlight, activities: { ...steps, syncClusterBatch } };
}

const clusters = ['cluster-a', 'cluster-b', 'cluster-c', 'cluster-d'].map((name) => ({
  name,
  delivery: 'push' as const,
  namespace: 'payments',
  secretName: 'api-key',
}));

async function rotate(
  spec: Partial<PlaybookInput['spec']>,
  fakes: ReturnType<typeof fakeClusters>,
  canaryLog: Event[],
) {
  const ts = await awsTestStore('waves-initial-value');
  const real = createActivities(depsFromEnv());
  const tw = await startTestWorker({
    ...real,
    ...fakes.activities,
    // The fake clusters have no apiserver to look for consumer pods in (plan-consumers.test.ts covers that).
    planRotation: (input: Parameters<typeof real.planRotation>[0]) => real.planRotation({ ...input, clusters: [] }),
    // Nor pods for the consumer gate (consumer-gate.test.ts gates real pods).
    consumerGate: (input: Parameters<typeof real.consumerGate>[0]) => real.consumerGate({ ...input, clusters: [] }),
    runCanary: async (...args: Parameters<typeof real.runCanary>) => {
      canaryLog.push({ at: Date.now(), what: 'canary' });
      return real.runCanary(...args);
    },
  });
  const playbook = testPlaybook(ts.store, {
    clusters,
    canaries: [{ type: 'command', name: 'ok', command: ['true'] }],
    ...spec,
  });
  try {
    const out = await tw.run(async () => {
      const h: WorkflowHandle = await startRotation(tw, playbook);
      const o = await outcomeOf(h);
      return { o, status: await h.query<RotationStatus>(statusQuery) };
    });
    return { ...out, ts };
  } finally {
    await tw.close();
  }
}

describe('waves and fan-out across clusters', () => {
  it('runs the canary after the first wave and before any other cluster is touched, within the concurrency bound', async () => {
    const fakes = fakeClusters();
    const canary: Event[] = [];
    const { o, status } = await rotate(
      { waves: [['cluster-a'], ['cluster-b', 'cluster-c', 'cluster-d']], maxParallelClusters: 2 },
      fakes,
      canary,
    );
    expect(o.ok).toBe(true);
    const canaryAt = canary[0]?.at ?? 0;
    const firstOther = fakes.log.find((e) => /cluster-[bcd]/.test(e.what))?.at ?? 0;
    const firstA = fakes.log.find((e) => e.what.startsWith('deliver cluster-a'))?.at ?? Infinity;
    expect(firstA).toBeLessThan(canaryAt);
    expect(canaryAt).toBeLessThanOrEqual(firstOther);
    expect(fakes.maxInFlight()).toBeLessThanOrEqual(2);
    expect(fakes.maxInFlight()).toBe(2);
    // Every cluster ends serving only the new version.
    for (const c of clusters)
      expect(fakes.serving.get(c.name)).toEqual({ current: status.current?.version, other: null });
    expect(status.clusters.map((c) => [c.name, c.wave, c.phase])).toEqual([
      ['cluster-a', 0, 'revoked'],
      ['cluster-b', 1, 'revoked'],
      ['cluster-c', 1, 'revoked'],
      ['cluster-d', 1, 'revoked'],
    ]);
  });

  it('a cluster that does not converge fails the stage and every touched cluster is restored to the old version only', async () => {
    const fakes = fakeClusters('cluster-c');
    const { o, status, ts } = await rotate(
      { waves: [['cluster-a'], ['cluster-b', 'cluster-c'], ['cluster-d']] },
      fakes,
      [],
    );
    expect(o.ok).toBe(false);
    if (o.ok) return;
    const failure = o.error.cause as ApplicationFailure;
    expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
    expect(failure.message).toContain('cluster-c: cluster-c did not converge (injected)');
    const snap = await ts.snapshot();
    for (const c of ['cluster-a', 'cluster-b', 'cluster-c'])
      expect(fakes.serving.get(c)).toEqual({ current: snap.currentVersion, other: null });
    // cluster-d's wave never started, so rotor never touched it.
    expect(fakes.serving.has('cluster-d')).toBe(false);
    expect(status.clusters.find((c) => c.name === 'cluster-d')?.phase).toBe('pending');
    expect(status.clusters.filter((c) => c.phase === 'rolled-back').map((c) => c.name)).toEqual([
      'cluster-a',
      'cluster-b',
      'cluster-c',
    ]);
  });
});
