/**
 * End to end across the stack's three real clusters: the rotation workflow with the real store,
 * delivery and verification activities; cluster-a delivered by External Secrets Operator from moto,
 * cluster-b and cluster-c by rotor's own server-side apply. Values are compared, never printed.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { stackPaths } from '../../dev/local-stack/config';
import { stackUp } from '../../dev/local-stack/manager';
import { stopProcess } from '../../dev/local-stack/process';
import type { ClusterTarget } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { statusQuery } from '../../workflows/definitions';
import { createExternalSecret, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker, waitForPhase } from '../helpers/worker';
import { canaryGate } from '../helpers/canary-gate';
import type { TestWorker } from '../helpers/worker';
import { WorkflowErrorTypes } from '../../core/failures';

useStackEnv();
const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const base = stackKubeconfig();
const stack = { paths: stackPaths(), log: () => undefined };
const secretName = 'payments-api-key';

async function secretIn(context: string, namespace: string): Promise<Record<string, string>> {
  const s = await kubeconfigFor(context, base)
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ name: secretName, namespace });
  return Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

describe('rotation across three clusters', () => {
  let tw: TestWorker;
  let namespace: string;
  let ts: TestStore;

  beforeAll(async () => {
    tw = await startTestWorker(createActivities(depsFromEnv()));
  });
  afterAll(async () => {
    await tw.close();
  });

  async function setup(): Promise<ClusterTarget[]> {
    ts = await awsTestStore(`mc-initial-${randomBytes(8).toString('hex')}`);
    namespace = `mc-${randomBytes(4).toString('hex')}`;
    for (const c of contexts)
      await kubeconfigFor(c, base)
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: namespace } } });
    // cluster-a consumes the secret through ESO, as a team would have set it up before rotor.
    await createExternalSecret(kubeconfigFor('cluster-a', base), namespace, {
      name: 'payments-api-key',
      targetSecret: secretName,
      clusterStore: 'aws',
      remoteKey: ts.store.type === 'aws' ? ts.store.secretId : '',
    });
    return [
      { name: 'cluster-a', delivery: 'eso', namespace, secretName, workloads: [] },
      { name: 'cluster-b', delivery: 'push', namespace, secretName, workloads: [] },
      { name: 'cluster-c', delivery: 'push', namespace, secretName, workloads: [], timeout: 10_000 },
    ];
  }

  async function teardown(): Promise<void> {
    await Promise.all(contexts.map((c) => purgeNamespace(kubeconfigFor(c, base), namespace).catch(() => undefined)));
  }

  it('converges in waves (eso and push clusters together), revokes, and leaves only the new value everywhere', async () => {
    const clusters = await setup();
    try {
      const before = await ts.snapshot();
      const playbook = testPlaybook(ts.store, {
        clusters,
        waves: [['cluster-a'], ['cluster-b', 'cluster-c']],
        canaries: [{ type: 'command', name: 'ok', command: ['true'] }],
      });
      const { out, status } = await tw.run(async () => {
        const h = await startRotation(tw, playbook);
        const o = await outcomeOf(h);
        return { out: o, status: await h.query(statusQuery) };
      });
      expect(out.ok).toBe(true);
      const after = await ts.snapshot();
      expect(after.currentVersion).not.toBe(before.currentVersion);
      for (const c of contexts) {
        const data = await secretIn(c, namespace);
        expect({ cluster: c, keys: Object.keys(data).sort(), isNew: data['value'] === after.currentValue }).toEqual({
          cluster: c,
          keys: ['value'],
          isNew: true,
        });
      }
      expect(status.clusters.map((c) => [c.name, c.phase])).toEqual([
        ['cluster-a', 'revoked'],
        ['cluster-b', 'revoked'],
        ['cluster-c', 'revoked'],
      ]);
    } finally {
      await teardown();
    }
  });

  it('with cluster-c stopped mid-rotation, cluster-c times out, the rotation compensates, and once it is back every cluster reads only the old value', async () => {
    const clusters = await setup();
    const gate = canaryGate('slow');
    try {
      const before = await ts.snapshot();
      const playbook = testPlaybook(ts.store, {
        clusters,
        waves: [['cluster-a'], ['cluster-b', 'cluster-c']],
        // The canary runs until cluster-c's apiserver is gone: wave 2 starts only after it is down.
        canaries: [gate.canary],
      });
      const out = await tw.run(async () => {
        const h = await startRotation(tw, playbook);
        await waitForPhase(h, 'canary');
        await gate.running();
        // cluster-c's apiserver goes away after wave 1 converged and before wave 2 starts.
        await stopProcess(stack, 'kube-apiserver-cluster-c');
        gate.open();
        await waitForPhase(h, 'compensating');
        await stackUp(stack, ['kube']);
        return outcomeOf(h);
      });
      expect(out.ok).toBe(false);
      if (out.ok) return;
      const failure = out.error.cause as ApplicationFailure;
      expect(failure.type).toBe(WorkflowErrorTypes.rolledBack);
      expect(failure.message).toMatch(/cluster-c/);
      const after = await ts.snapshot();
      expect(after).toMatchObject({
        currentVersion: before.currentVersion,
        currentValue: before.currentValue,
        pendingVersion: null,
      });
      for (const c of contexts) {
        const data = await secretIn(c, namespace);
        expect({ cluster: c, keys: Object.keys(data).sort(), isOld: data['value'] === before.currentValue }).toEqual({
          cluster: c,
          keys: ['value'],
          isOld: true,
        });
      }
    } finally {
      gate.dispose();
      await stackUp(stack, ['kube']);
      await teardown();
    }
  });
});
