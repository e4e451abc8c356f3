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
import { rotationWorkflowId } from '../../core/ids';
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

/** Writes `playbook` into the directory with the incident's label (or none). */
function writePlaybook(playbook: Playbook, labelled: boolean): void {
  const labels = labelled ? { incident: tag } : { incident: 'other' };
  writeFileSync(
    join(dir, `${playbook.metadata.name}.yaml`),
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
    playbooks.forEach((p, i) => writePlaybook(p, i < 4));
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
});
