/**
 * A real apiserver that goes away mid-rotation: the worker reaches cluster-a through a TCP proxy
 * this test owns (the shared stack's apiserver keeps running), and the test stops the proxy.
 * - At revoke (past the point of no return) the run must go to needs-attention — not fail, not
 *   abandon revocation — and finish forward after the proxy is back and an operator runs `rotor retry`.
 * - At promote (right after the store promoted, before the cluster swaps keys) the run must roll
 *   back: the store demoted, and restore retrying the unreachable cluster until it is back, so
 *   every touched cluster ends serving only the old version.
 */
import { randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ApplicationFailure } from '@temporalio/common';
import vaultClient from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import type { PromoteInput } from '../../core/contracts';
import { WorkflowErrorTypes } from '../../core/failures';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationStatus } from '../../core/status';
import { depsFromEnv } from '../../workers/deps';
import { approveUpdate, statusQuery } from '../../workflows/definitions';
import { runRotor } from '../helpers/cli';
import { freshNamespace, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

const env = useStackEnv();

/** A TCP proxy to `target` that can be stopped (every connection cut) and started again on its port. */
class Proxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}

const base = stackKubeconfig();
const contextA = base.getContextObject('cluster-a');
const clusterA = base.getCluster(contextA?.cluster ?? '');
const upstream = new URL(clusterA?.server ?? 'https://127.0.0.1:16443');
const proxy = new Proxy({ host: upstream.hostname, port: Number(upstream.port) });
const faultContext = `fault-a-${randomBytes(3).toString('hex')}`;
const a = kubeconfigFor('cluster-a');
let namespace = '';

/** The stack's kubeconfig plus one context that reaches cluster-a through the proxy. */
function kubeconfigWithProxy(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [...base.clusters, { ...clusterA, name: faultContext, server: `https://127.0.0.1:${proxy.port}` }],
    users: base.users,
    contexts: [...base.contexts, { name: faultContext, cluster: faultContext, user: contextA?.user ?? '' }],
    currentContext: 'cluster-a',
  });
  return kc;
}

const b = kubeconfigFor('cluster-b');
let namespaceB = '';
/** Workflow ids whose store promote stops the proxy right after it succeeded. */
const cutAfterPromote = new Set<string>();
let tw: TestWorker;

beforeAll(async () => {
  await proxy.start();
  namespace = await freshNamespace(a, 'rotor-fault');
  namespaceB = await freshNamespace(b, 'rotor-fault');
  const real = createActivities({ ...depsFromEnv(), kubeconfig: kubeconfigWithProxy() });
  tw = await startTestWorker({
    ...real,
    // The fault lands at an exact point: after the store's promote succeeded, before any cluster swaps keys.
    async promoteVersion(input: PromoteInput) {
      await real.promoteVersion(input);
      if (cutAfterPromote.has(input.rotation.workflowId)) await proxy.stop();
    },
  });
});

afterAll(async () => {
  await tw?.close();
  await proxy.stop();
  if (namespace) await purgeNamespace(a, namespace);
  if (namespaceB) await purgeNamespace(b, namespaceB);
});

describe('a cluster unreachable at revoke (real apiserver behind a proxy)', () => {
  it('goes to needs-attention, keeps revoking, and completes after the fault clears and rotor retry', async () => {
    const ts = await vaultTestStore('fault-initial-value');
    const before = await ts.snapshot();
    const playbook = testPlaybook(ts.store, {
      clusters: [{ name: 'far', context: faultContext, delivery: 'push', namespace, secretName: 'api-key' }],
      approval: { beforeRevoke: true },
      // The gate before revoke would find the cluster unreachable and roll back, rightly (it is before
      // the point of no return); the fault this test places is past it, so the gate is off here.
      consumerGate: { enabled: false },
      timeouts: { revoke: '10s' },
      // Only rotor retry may finish it within the test.
      needsAttention: { retryEvery: '1h' },
    });
    const secret = () => a.makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'api-key', namespace });
    const keys = async () => Object.keys((await secret()).data ?? {}).sort();
    await tw.run(async () => {
      const h = await startRotation(tw, playbook);
      await waitForPhase(h, 'approval');
      expect(await keys()).toEqual(['value', 'value-other']);
      await proxy.stop();
      await h.executeUpdate(approveUpdate, { args: [{ by: 'approver' }] });
      await waitForPhase(h, 'needs-attention');

      const stuck = await h.query<RotationStatus>(statusQuery);
      expect(stuck.attention).toMatch(/revoke keeps failing: .*far/);
      expect(stuck.pointOfNoReturn).toBe(true);
      expect(stuck.clusters.find((c) => c.name === 'far')?.phase).toBe('failed');
      // The old version is still in the cluster (it could not be reached), and marked revoked in the store.
      expect(await keys()).toEqual(['value', 'value-other']);
      const meta = (await vaultClient({ endpoint: env['VAULT_ADDR'], token: env['VAULT_TOKEN'] }).read(
        `secret/metadata/${'path' in ts.store ? ts.store.path : ''}`,
      )) as { data: { custom_metadata: Record<string, string> } };
      expect(meta.data.custom_metadata['rotor-revoked-versions']).toBe(before.currentVersion);

      await proxy.start();
      const retry = await runRotor({ ...process.env, ...env }, 'retry', playbook.spec.secret.name, '--by', 'oncall');
      expect({ code: retry.code, stderr: retry.stderr }).toEqual({ code: 0, stderr: '' });
      const o = await outcomeOf(h);
      expect(o.ok).toBe(true);
      const done = await h.query<RotationStatus>(statusQuery);
      expect(done.phase).toBe('rotated');
      expect(done.clusters.find((c) => c.name === 'far')?.phase).toBe('revoked');
    });
    const after = await ts.snapshot();
    expect(after.currentVersion).not.toBe(before.currentVersion);
    expect(after.previousVersion).toBe(before.currentVersion);
    expect(after.pendingVersion).toBeNull();
    // The cluster serves only the new version now.
    expect(await keys()).toEqual(['value']);
    expect(Buffer.from((await secret()).data?.['value'] ?? '', 'base64').toString()).toBe(after.currentValue);
  }, 300_000);
});

describe('a cluster unreachable at promote (real apiserver behind a proxy)', () => {
  it('rolls back: the store is demoted, restore waits for the cluster, and every touched cluster serves only the old value', async () => {
    const ts = await vaultTestStore('fault-promote-initial');
    const before = await ts.snapshot();
    const playbook = testPlaybook(ts.store, {
      clusters: [
        { name: 'far', context: faultContext, delivery: 'push', namespace, secretName: 'promote-key' },
        { name: 'near', context: 'cluster-b', delivery: 'push', namespace: namespaceB, secretName: 'promote-key' },
      ],
      // The gate before promote is not the step under test.
      consumerGate: { enabled: false },
    });
    cutAfterPromote.add(rotationWorkflowId(playbook.spec.secret.name));
    const secretIn = (kc: KubeConfig, ns: string) => () =>
      kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'promote-key', namespace: ns });
    const [far, near] = [secretIn(a, namespace), secretIn(b, namespaceB)];
    await tw.run(async () => {
      const h = await startRotation(tw, playbook);
      await waitForPhase(h, 'compensating');
      // Restore cannot reach 'far': the run waits for it (undos never give up) rather than ending.
      await new Promise((r) => setTimeout(r, 8_000));
      const waiting = await h.query<RotationStatus>(statusQuery);
      expect(waiting.phase).toBe('compensating');
      // The store was demoted first (undos run last-first): the old version is current again.
      expect((await ts.snapshot()).currentVersion).toBe(before.currentVersion);
      await proxy.start();
      const o = await outcomeOf(h);
      expect(o.ok).toBe(false);
      if (!o.ok) {
        const cause = o.error.cause as ApplicationFailure;
        expect(cause.type).toBe(WorkflowErrorTypes.rolledBack);
        expect(cause.message).toMatch(/promote failed in 1 of 2 cluster\(s\): far: .*ECONNREFUSED/);
      }
      const done = await h.query<RotationStatus>(statusQuery);
      expect(done.clusters.map((c) => [c.name, c.phase])).toEqual([
        ['far', 'rolled-back'],
        ['near', 'rolled-back'],
      ]);
    });
    const after = await ts.snapshot();
    expect(after.currentVersion).toBe(before.currentVersion);
    expect(after.currentValue === before.currentValue).toBe(true);
    expect(after.pendingVersion).toBeNull();
    for (const read of [far, near]) {
      const s = await read();
      expect(Object.keys(s.data ?? {}).sort()).toEqual(['value']);
      expect(Buffer.from(s.data?.['value'] ?? '', 'base64').toString() === before.currentValue).toBe(true);
    }
  }, 300_000);
});
