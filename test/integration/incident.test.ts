/**
 * `rotor incident start` end to end against the real stack (Vault, Temporal, a worker process):
 * four Vault KV secrets selected by a label rotate as one incident, one of them fails its canary
 * and rolls back, and the report says so; a fifth playbook in the directory without the label is
 * not touched. Nothing a store held reaches any payload of the incident or its rotations.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKey } from '../../adapters/keys';
import { AesGcmCodec } from '../../adapters/temporal/codec';
import { connectClient } from '../../adapters/temporal/connection';
import { devPolicyFile } from '../../dev/local-stack/config';
import { incidentWorkflowId, rotationWorkflowId } from '../../core/ids';
import type { IncidentReport, IncidentStatus } from '../../core/incident/types';
import { incidentStatusQuery } from '../../workflows/incident/definitions';
import type { Playbook } from '../../core/playbook/schema';
import { runRotor } from '../helpers/cli';
import { dataText, decodePayload, mapPayloads, toHistoryJson } from '../helpers/history';
import { scan } from '../helpers/leak-scan';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { rotatedOnce, vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

const taskQueue = `incident-${randomUUID()}`;
const env = { ...process.env, ...useStackEnv(), ROTOR_TASK_QUEUE: taskQueue };
process.env['ROTOR_TASK_QUEUE'] = taskQueue;
const dir = mkdtempSync(join(tmpdir(), 'rotor-incident-'));
const tag = `t-${randomUUID().slice(0, 8)}`;

/** Writes `playbook` into `into` with these labels, as an author would. */
function writePlaybook(into: string, playbook: Playbook, labels: Record<string, string>): void {
  writeFileSync(
    join(into, `${playbook.metadata.name}.yaml`),
    stringify({ ...playbook, metadata: { ...playbook.metadata, labels } }),
  );
}

/** Every payload of a run's history, decoded, as text. */
async function decodedHistory(workflowId: string): Promise<string> {
  const client = await connectClient();
  try {
    const codec = new AesGcmCodec(loadKey('ROTOR_CODEC_KEY'));
    const raw = toHistoryJson(await client.workflow.getHandle(workflowId).fetchHistory());
    const texts: string[] = [JSON.stringify(raw)];
    await mapPayloads(raw, async (p) => {
      const d = await decodePayload(codec, p);
      texts.push(dataText(d));
      return d;
    });
    return texts.join('\n');
  } finally {
    await client.connection.close();
  }
}

describe('rotor incident start', () => {
  let worker: WorkerProcess;
  beforeAll(async () => {
    worker = await startWorkerProcess({
      taskQueue,
      logFile: join(dir, 'worker.log'),
      env: { ROTOR_METRICS_PORT: '0' },
    });
  });
  afterAll(async () => {
    await worker.stop();
  });

  it('rotates four Vault secrets as one incident; the one whose canary fails rolls back and the report says why', async () => {
    const initials = [0, 1, 2, 3, 4].map((i) => `incident-initial-${i}-${randomBytes(12).toString('base64url')}`);
    const stores: TestStore[] = await Promise.all(initials.map((v) => vaultTestStore(v)));
    const before = await Promise.all(stores.map((s) => s.snapshot()));
    const playbooks = stores.map((s, i) =>
      testPlaybook(
        s.store,
        i === 3
          ? { canaries: [{ type: 'command', name: 'rejects', command: ['sh', '-c', 'cat >/dev/null; exit 3'] }] }
          : {},
      ),
    );
    playbooks.forEach((p, i) => writePlaybook(dir, p, { incident: i < 4 ? tag : 'other' }));
    const secrets = playbooks.map((p) => p.spec.secret.name);
    const id = `it-${tag}`;

    const run = await runRotor(
      env,
      'incident',
      'start',
      dir,
      '--selector',
      `incident=${tag}`,
      '--reason',
      'vault token leaked',
      '--compromised',
      '--concurrency',
      '2',
      '--id',
      id,
      '--requested-by',
      'oncall@example',
      '--wait',
    );
    expect({ code: run.code, stderr: run.stderr.slice(-800) }).toEqual({ code: 2, stderr: '' });
    expect(run.stdout).toContain(`started incident incident/${id}: 4 emergency rotation(s) of labels incident=${tag}`);
    expect(run.stdout).toContain(`incident incident/${id} ended: rolled-back — 3 rotated, 1 rolled-back`);
    for (const s of secrets.slice(0, 3)) expect(run.stdout).toMatch(new RegExp(`^  rotated +${s}$`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^  rolled back +${secrets[3] ?? ''}: .*canary 'rejects' failed`, 'm'));
    expect(run.stdout).not.toContain(secrets[4]);

    // The stores, read directly: three rotated once, the failed one and the unselected one untouched.
    for (const i of [0, 1, 2]) {
      const store = stores[i] as TestStore;
      const after = await store.snapshot();
      const r = await rotatedOnce(store, before[i] as (typeof before)[number], after.currentVersion);
      expect(r.state).toEqual(r.expected);
    }
    for (const i of [3, 4]) {
      const after = await (stores[i] as TestStore).snapshot();
      expect({
        current: after.currentVersion,
        pending: after.pendingVersion,
        same: after.currentValue === initials[i],
      }).toEqual({ current: before[i]?.currentVersion, pending: null, same: true });
    }

    // `rotor incident status` shows the report of the ended incident.
    const status = await runRotor(env, 'incident', 'status', id);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`incident incident/${id} ended: rolled-back`);
    expect(status.stdout).toContain(`rolled back      ${secrets[3] ?? ''}`);

    // No value — old or new — in any payload of the incident or of its rotations.
    const values: Record<string, string> = {};
    for (const [i, store] of stores.entries()) {
      values[`initial ${i}`] = initials[i] ?? '';
      values[`current ${i}`] = (await store.snapshot()).currentValue;
    }
    const surfaces: Record<string, string> = { incident: await decodedHistory(`incident/${id}`) };
    for (const s of secrets.slice(0, 4)) surfaces[s] = await decodedHistory(rotationWorkflowId(s));
    expect(scan(surfaces, values)).toEqual([]);
  });

  it('survives a worker kill mid-incident: the restarted worker finishes every rotation', async () => {
    const stores = await Promise.all([0, 1, 2].map((i) => vaultTestStore(`incident-kill-${i}-${randomUUID()}`)));
    const before = await Promise.all(stores.map((s) => s.snapshot()));
    // Each canary takes a moment, so the kill lands while the incident still has rotations to start.
    const slow = {
      canaries: [{ type: 'command' as const, name: 'slow', command: ['sh', '-c', 'cat >/dev/null; sleep 2'] }],
    };
    const killTag = `k-${randomUUID().slice(0, 8)}`;
    const killDir = mkdtempSync(join(tmpdir(), 'rotor-incident-kill-'));
    for (const s of stores) writePlaybook(killDir, testPlaybook(s.store, slow), { incident: killTag });
    const id = `kill-${killTag}`;
    const started = await runRotor(
      env,
      'incident',
      'start',
      killDir,
      '--reason',
      'worker kill test',
      '--compromised',
      '--concurrency',
      '1',
      '--id',
      id,
    );
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    const client = await connectClient();
    try {
      const h = client.workflow.getHandle(incidentWorkflowId(id));
      let status: IncidentStatus | undefined;
      for (let i = 0; i < 300 && !(status && status.counts.rotated >= 1); i++) {
        status = await h.query(incidentStatusQuery).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status?.counts.rotated).toBe(1);
      await worker.kill();
      await worker.restart();
      const report = (await h.result()) as IncidentReport;
      expect(report).toMatchObject({ outcome: 'rotated', counts: { rotated: 3, 'rolled-back': 0 } });
    } finally {
      await client.connection.close();
    }
    for (const [i, s] of stores.entries()) {
      const r = await rotatedOnce(s, before[i] as (typeof before)[number], (await s.snapshot()).currentVersion);
      expect(r.state).toEqual(r.expected);
    }
  });

  it('an incident cannot widen what its requester may rotate: each rotation is admitted on its own', async () => {
    // A worker under the two-team policy: orders' playbooks may be started by orders-oncall only.
    const policyQueue = `incident-policy-${randomUUID()}`;
    const policyWorker = await startWorkerProcess({
      taskQueue: policyQueue,
      logFile: join(dir, 'policy-worker.log'),
      env: { ROTOR_POLICY_FILE: join(devPolicyFile, '../two-teams.yaml') },
    });
    try {
      const victims = await Promise.all(
        [0, 1].map((i) => vaultTestStore(`orders-${i}-${randomUUID()}`, undefined, 'apps/orders/')),
      );
      const before = await Promise.all(victims.map((v) => v.snapshot()));
      const attackDir = mkdtempSync(join(tmpdir(), 'rotor-incident-attack-'));
      for (const v of victims) writePlaybook(attackDir, testPlaybook(v.store), { team: 'orders' });
      const run = await runRotor(
        { ...env, ROTOR_TASK_QUEUE: policyQueue },
        'incident',
        'start',
        attackDir,
        '--selector',
        'team=orders',
        '--reason',
        'mallory says so',
        '--compromised',
        '--requested-by',
        'mallory',
        '--id',
        `attack-${randomUUID().slice(0, 8)}`,
        '--wait',
      );
      expect({ code: run.code, stderr: run.stderr.slice(-500) }).toEqual({ code: 3, stderr: '' });
      expect(run.stdout).toContain('ended: needs-attention — 2 needs-attention');
      expect(
        run.stdout.match(/needs attention +\S+: PolicyRefused: refused by the rotor policy, nothing was changed/g),
      ).toHaveLength(2);
      expect(run.stdout).toContain('requester mallory');
      for (const [i, v] of victims.entries()) expect(await v.snapshot()).toEqual(before[i]);
    } finally {
      await policyWorker.stop();
    }
  });
});
