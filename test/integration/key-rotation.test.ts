/**
 * Rotating rotor's own keys while rotations are open: two runs are started by a worker holding
 * codec key k1 and fingerprint key f1 (one waits on approval, one soaks), then the worker is
 * replaced by one holding [k2, k1] and [f2, f1]. Both runs must finish on the new worker: old
 * payloads decode, fingerprints recorded under f1 still verify the cluster's Secret, and everything
 * written afterwards carries the new key ids. The codec server decodes both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotorCodec } from '../../adapters/temporal/data-converter';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';
import { createCodecServer } from '../../workers/codec-server';
import { approveUpdate, statusQuery } from '../../workflows/definitions';
import { waitForPhaseOf } from '../helpers/rotation-wait';
import { kubeconfigFor, purgeNamespace, secretData } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

useStackEnv();
const b64 = () => randomBytes(32).toString('base64');
const [k1, k2, f1, f2] = [b64(), b64(), b64(), b64()];
// The single-key variables are blanked so only the keyrings count.
const before = { ROTOR_CODEC_KEYS: `k1=${k1}`, ROTOR_FINGERPRINT_KEYS: `f1=${f1}` };
const after = { ROTOR_CODEC_KEYS: `k2=${k2},k1=${k1}`, ROTOR_FINGERPRINT_KEYS: `f2=${f2},f1=${f1}` };
const blank = {
  ROTOR_CODEC_KEY: '',
  ROTOR_CODEC_KEY_FILE: '',
  ROTOR_FINGERPRINT_KEY: '',
  ROTOR_FINGERPRINT_KEY_FILE: '',
};
const envOf = (keys: Record<string, string>) => ({ ...process.env, ...blank, ...keys });
const context = 'cluster-b';
const secretName = 'app-key';

type Payload = temporal.api.common.v1.IPayload;

/** Every encrypted payload of a run's history, as the server stores it. */
async function storedPayloads(h: WorkflowHandle): Promise<Payload[]> {
  const found: Payload[] = [];
  const walk = (x: unknown): void => {
    if (!x || typeof x !== 'object') return;
    const m = (x as Payload).metadata;
    if (m && 'encryption-key-id' in m) found.push(x);
    else for (const v of Object.values(x)) walk(v);
  };
  walk((await h.fetchHistory()).events);
  return found;
}
const keyIds = (ps: Payload[]) => [
  ...new Set(ps.map((p) => Buffer.from(p.metadata?.['encryption-key-id'] ?? []).toString())),
];

describe('rotating the codec and fingerprint keys while rotations are open', () => {
  let logDir: string;
  let namespace: string;
  let wp: WorkerProcess | undefined;
  const clients: Client[] = [];
  const core = kubeconfigFor(context).makeApiClient(CoreV1Api);

  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'rotor-keyring-'));
    namespace = `keyring-${randomBytes(4).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterAll(async () => {
    await wp?.stop();
    for (const c of clients) await c.connection.close();
    await purgeNamespace(kubeconfigFor(context), namespace).catch(() => undefined);
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('a run awaiting approval and a run in soak, started under k1/f1, complete on a worker holding [k2,k1]/[f2,f1]', async () => {
    const taskQueue = `keyring-${randomBytes(4).toString('hex')}`;
    wp = await startWorkerProcess({ taskQueue, logFile: join(logDir, 'worker.log'), env: { ...blank, ...before } });
    const oldClient = await connectClient(envOf(before));
    clients.push(oldClient);

    const start = async (ts: TestStore, spec: Parameters<typeof testPlaybook>[1], secret: string) => {
      const playbook = testPlaybook(ts.store, {
        clusters: [{ name: context, delivery: 'push', namespace, secretName: secret, workloads: [] }],
        ...spec,
      });
      const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'keyring-test' };
      return oldClient.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [input],
      });
    };
    const approvalStore = await awsTestStore(`keyring-a-${randomBytes(8).toString('hex')}`);
    const soakStore = await awsTestStore(`keyring-s-${randomBytes(8).toString('hex')}`);
    const approvalRun = await start(approvalStore, { approval: { beforeRevoke: true } }, `${secretName}-a`);
    // Long enough to outlast the worker swap in most runs; a soak that fires while no worker runs is fine too.
    const soakRun = await start(soakStore, { soak: '20s' }, `${secretName}-s`);
    await waitForPhaseOf(oldClient, approvalRun, ['approval']);
    await waitForPhaseOf(oldClient, soakRun, ['soak']);
    const [approvalBefore, soakBefore] = [await approvalRun.query(statusQuery), await soakRun.query(statusQuery)];
    expect(approvalBefore.current?.fingerprint).toMatch(/^hmac:f1:/);
    expect(soakBefore.current?.fingerprint).toMatch(/^hmac:f1:/);
    const oldPayloads = await storedPayloads(approvalRun);
    expect(keyIds(oldPayloads)).toEqual(['k1']);

    // The key rotation: the worker restarts with the new keyrings, the old keys kept readable.
    await wp.stop();
    wp = await startWorkerProcess({ taskQueue, logFile: join(logDir, 'worker2.log'), env: { ...blank, ...after } });
    const client = await connectClient(envOf(after));
    clients.push(client);
    const approvalH = client.workflow.getHandle(approvalRun.workflowId, approvalRun.firstExecutionRunId);
    const soakH = client.workflow.getHandle(soakRun.workflowId, soakRun.firstExecutionRunId);

    await approvalH.executeUpdate(approveUpdate, { args: [{ by: 'approver' }] });
    const results = (await Promise.all([approvalH.result(), soakH.result()])) as RotationResult[];

    for (const [r, ts, secret] of [
      [results[0], approvalStore, `${secretName}-a`],
      [results[1], soakStore, `${secretName}-s`],
    ] as const) {
      expect(r?.outcome).toBe('rotated');
      // Fingerprinted at create under f1, verified after the swap under f1 again.
      expect(r?.current.fingerprint).toMatch(/^hmac:f1:/);
      const snap = await ts.snapshot();
      expect(snap.currentVersion).toBe(r?.current.version);
      expect(snap.pendingVersion).toBeNull();
      const data = await secretData(kubeconfigFor(context), namespace, secret);
      expect({ keys: Object.keys(data), isNew: data['value'] === snap.currentValue }).toEqual({
        keys: ['value'],
        isNew: true,
      });
    }

    // Written after the swap: the newest codec key; before it: k1, still readable.
    const all = await storedPayloads(approvalH);
    expect(keyIds(all).sort()).toEqual(['k1', 'k2']);

    // The codec server with the new keyring decodes both; one holding only k2 (k1 retired) refuses old ones.
    const serve = async (keys: Record<string, string>) => {
      const server: Server = createCodecServer({ codec: rotorCodec(envOf(keys)), allowedOrigins: [] });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return server;
    };
    const decodeVia = async (server: Server, payload: Payload) => {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default' },
        body: JSON.stringify({
          payloads: [
            {
              metadata: Object.fromEntries(
                Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
              ),
              data: Buffer.from(payload.data ?? []).toString('base64'),
            },
          ],
        }),
      });
      return res.status;
    };
    const byId = (id: string) => all.find((p) => keyIds([p])[0] === id) as Payload;
    const ring = await serve(after);
    const retired = await serve({ ROTOR_CODEC_KEYS: `k2=${k2}` });
    try {
      expect([await decodeVia(ring, byId('k1')), await decodeVia(ring, byId('k2'))]).toEqual([200, 200]);
      expect([await decodeVia(retired, byId('k1')), await decodeVia(retired, byId('k2'))]).toEqual([400, 200]);
    } finally {
      ring.close();
      retired.close();
    }
  });
});
