/**
 * The incident of issue 22's "Done when", against the real stack: 50 secrets, half in Vault KV and
 * half in Secrets Manager (moto), rotate as one incident; the worker is killed in the middle and
 * started again; 10 of the rotations (held at their approval gates) are aborted one by one, as
 * `rotor abort` does. Every store is then read directly: each secret is rotated or rolled back
 * exactly as the incident's report says.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { incidentWorkflowId, rotationWorkflowId } from '../../core/ids';
import type { IncidentReport, IncidentStatus } from '../../core/incident/types';
import { abortUpdate } from '../../workflows/definitions';
import { incidentStatusQuery } from '../../workflows/incident/definitions';
import { runRotor } from '../helpers/cli';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore, storesAgainstReport, vaultTestStore } from '../helpers/stores';
import type { StoreSnapshot, TestStore } from '../helpers/stores';
import { waitForPhase } from '../helpers/worker';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

const taskQueue = `incident-fifty-${randomUUID()}`;
const env = { ...process.env, ...useStackEnv(), ROTOR_TASK_QUEUE: taskQueue };
process.env['ROTOR_TASK_QUEUE'] = taskQueue;
const dir = mkdtempSync(join(tmpdir(), 'rotor-incident-fifty-'));
const secrets = 50;
/** Every fifth secret, Vault and Secrets Manager alike, waits at an approval gate and is aborted there. */
const gated = (i: number) => i % 5 === 2;

interface Case {
  secret: string;
  store: TestStore;
  before: StoreSnapshot;
  gated: boolean;
}

describe('an incident over 50 Vault and Secrets Manager secrets', () => {
  let worker: WorkerProcess;
  beforeAll(async () => {
    worker = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log') });
  });
  afterAll(async () => {
    await worker.stop();
  });

  it('survives a worker kill and 10 aborts: every store ends rotated or rolled back exactly as the report says', async () => {
    const tag = `f-${randomUUID().slice(0, 8)}`;
    const cases: Case[] = await Promise.all(
      Array.from({ length: secrets }, async (_, i) => {
        const initial = `fifty-${i}-${randomUUID()}`;
        const store = i % 2 === 0 ? await vaultTestStore(initial) : await awsTestStore(initial);
        // Not compromised: an approval gate holds the rotation before revoke, where an abort rolls it back.
        // Emergency rotations halve the stage timeouts (plan: 30 s), and a plan queued while the
        // worker is down counts that time: generous bounds keep the kill from rolling one back.
        const timeouts = { plan: '10m', create: '10m' };
        const playbook = testPlaybook(
          store.store,
          gated(i) ? { timeouts, approval: { beforeRevoke: true } } : { timeouts },
        );
        // The incident starts playbooks in file-name order: the gated ones are spread through the run.
        writeFileSync(
          join(dir, `${String(i).padStart(2, '0')}-${playbook.metadata.name}.yaml`),
          stringify({ ...playbook, metadata: { ...playbook.metadata, labels: { incident: tag } } }),
        );
        return { secret: playbook.spec.secret.name, store, before: await store.snapshot(), gated: gated(i) };
      }),
    );
    const id = `fifty-${tag}`;
    const started = await runRotor(
      env,
      'incident',
      'start',
      dir,
      '--selector',
      `incident=${tag}`,
      '--reason',
      'ci system leaked',
      '--concurrency',
      '16',
      '--per-backend',
      '8',
      '--id',
      id,
      '--requested-by',
      'oncall@example',
    );
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    expect(started.stdout).toContain(`${secrets} emergency rotation(s)`);

    const client = await connectClient();
    try {
      const incident = client.workflow.getHandle(incidentWorkflowId(id));
      // In the middle: some rotated, some not yet started.
      let status: IncidentStatus | undefined;
      const deadline = Date.now() + 120_000;
      while (!(status && status.counts.rotated >= 8) && Date.now() < deadline) {
        status = await incident.query(incidentStatusQuery).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(status?.counts.rotated).toBeGreaterThanOrEqual(8);
      expect(status?.counts.pending).toBeGreaterThan(0);
      await worker.kill();
      await worker.restart();

      // Each gated rotation is aborted once it waits at its gate (the incident starts the last ones late).
      const aborts = await Promise.all(
        cases
          .filter((c) => c.gated)
          .map(async (c) => {
            const h = client.workflow.getHandle(rotationWorkflowId(c.secret));
            for (let i = 0; i < 900 && !(await h.describe().catch(() => undefined)); i++)
              await new Promise((r) => setTimeout(r, 200));
            await waitForPhase(h, 'approval', 180_000);
            return h.executeUpdate(abortUpdate, { args: [{ by: 'oncall@example', reason: 'keep this one' }] });
          }),
      );
      expect(aborts).toHaveLength(10);

      const report = (await incident.result()) as IncidentReport;
      const gatedSecrets = cases.filter((c) => c.gated).map((c) => c.secret);
      expect({
        outcome: report.outcome,
        counts: report.counts,
        rolledBack: report.rolledBack.map((r) => r.secret).sort(),
        rotated: [...report.rotated].sort(),
      }).toEqual({
        outcome: 'rolled-back',
        counts: { pending: 0, running: 0, rotated: 40, 'rolled-back': 10, 'needs-attention': 0, skipped: 0 },
        rolledBack: [...gatedSecrets].sort(),
        rotated: cases
          .filter((c) => !c.gated)
          .map((c) => c.secret)
          .sort(),
      });
      for (const r of report.rolledBack) expect(r.why).toContain('aborted by oncall@example');

      // The stores, read directly, say the same as the report, secret by secret.
      expect(await storesAgainstReport(cases, report.rotated)).toEqual([]);
      expect(worker.starts).toBe(2);
    } finally {
      await client.connection.close();
    }
  }, 600_000);
});
