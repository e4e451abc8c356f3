/**
 * A throttled backend slows an incident without failing it, with Vault's own throttle: a
 * rate-limit quota (`sys/quotas/rate-limit`, answering HTTP 429) on a KV v2 mount this test
 * creates and removes, so no other test's Vault calls are limited. Twelve emergency rotations on
 * that mount run as one incident; the worker reports each throttled call to the incident, which
 * counts it and holds new starts on Vault, while each throttled step waits and is called again
 * without using its attempts (workflows/activity-calls.ts). Three rotations have a canary that
 * rejects the new version: they roll back, their undos under the same throttle, and end with the
 * store as before. The stores, read directly, say what the report says.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vaultClient from 'node-vault';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { incidentWorkflowId } from '../../core/ids';
import type { IncidentReport } from '../../core/incident/types';
import { incidentStatusQuery } from '../../workflows/incident/definitions';
import { runRotor } from '../helpers/cli';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { storesAgainstReport, vaultTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

const taskQueue = `incident-throttle-${randomUUID()}`;
const stack = useStackEnv();
const env = { ...process.env, ...stack, ROTOR_TASK_QUEUE: taskQueue };
process.env['ROTOR_TASK_QUEUE'] = taskQueue;
const dir = mkdtempSync(join(tmpdir(), 'rotor-incident-throttle-'));
const suffix = randomUUID().slice(0, 8);
/** A mount and a quota of this test's own: the stack's secret/ mount is never limited. */
const mount = `throttle-${suffix}`;
const quota = `rotor-test-throttle-${suffix}`;
const vault = vaultClient({ endpoint: stack['VAULT_ADDR'], token: stack['VAULT_TOKEN'] });

/** A KV v2 entry on the fresh mount; its first writes may be refused while Vault sets the mount up. */
async function storeOnMount(i: number): Promise<TestStore> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await vaultTestStore(`throttle-${i}-${randomUUID()}`, undefined, 'rotor-test/', mount);
    } catch (e) {
      if (attempt >= 40) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('an incident on a throttling Vault', () => {
  let worker: WorkerProcess;
  beforeAll(async () => {
    await vault.write(`sys/mounts/${mount}`, { type: 'kv', options: { version: '2' } });
    worker = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log') });
  });
  afterAll(async () => {
    await worker?.stop();
    // The test removes the quota itself; this is for a test that failed before it could.
    await vault.delete(`sys/quotas/rate-limit/${quota}`).catch(() => undefined);
    await vault.delete(`sys/mounts/${mount}`);
  });

  it('is slowed by HTTP 429s, counts them, holds new starts, and ends every rotation as the stores say', async () => {
    const stores = await Promise.all(Array.from({ length: 12 }, (_, i) => storeOnMount(i)));
    const before = await Promise.all(stores.map((s) => s.snapshot()));
    const cases = stores.map((store, i) => {
      // Every fourth rotation's canary rejects the new version: it rolls back, its undos throttled too.
      const rejects = i % 4 === 3;
      const p = testPlaybook(
        store.store,
        rejects ? { canaries: [{ type: 'command', name: 'rejects', command: ['sh', '-c', 'exit 1'] }] } : {},
      );
      writeFileSync(join(dir, `${p.metadata.name}.yaml`), stringify(p));
      return { secret: p.spec.secret.name, store, before: before[i] as (typeof before)[number], rejects };
    });
    // Two requests a second on this mount, for everyone, and six rotations at once on Vault: each
    // step of each rotation meets 429s. Before throttles had their own waits, a quarter of this
    // (2/s, three at once) already made a create spend its 8 attempts and roll back.
    await vault.write(`sys/quotas/rate-limit/${quota}`, { path: `${mount}/`, rate: 2, interval: '1s' });
    let report: IncidentReport;
    let heldVault = false;
    let seconds: number;
    try {
      // The quota is in force: a burst of reads on the mount is answered 429.
      const statuses = await Promise.all(
        Array.from({ length: 12 }, () =>
          vault.read(`${mount}/config`).then(
            () => 200,
            (e: { response?: { statusCode?: number } }) => e.response?.statusCode ?? -1,
          ),
        ),
      );
      expect(statuses).toContain(429);

      const id = `throttle-${suffix}`;
      const t0 = Date.now();
      const started = await runRotor(
        env,
        'incident',
        'start',
        dir,
        '--reason',
        'throttle test',
        '--compromised',
        '--concurrency',
        '12',
        '--per-backend',
        '6',
        '--id',
        id,
      );
      expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
      const client = await connectClient();
      try {
        const h = client.workflow.getHandle(incidentWorkflowId(id));
        const result = h.result() as Promise<IncidentReport>;
        let done = false;
        void result.finally(() => (done = true)).catch(() => undefined);
        while (!done) {
          const s = await h.query(incidentStatusQuery).catch(() => undefined);
          if (s?.backingOff.some((b) => b.backend === 'vault')) heldVault = true;
          await new Promise((r) => setTimeout(r, 250));
        }
        report = await result;
      } finally {
        await client.connection.close();
      }
      seconds = (Date.now() - t0) / 1000;
    } finally {
      await vault.delete(`sys/quotas/rate-limit/${quota}`);
    }

    const rejecting = cases.filter((c) => c.rejects).map((c) => c.secret);
    expect({
      outcome: report.outcome,
      counts: report.counts,
      rotated: [...report.rotated].sort(),
      rolledBack: report.rolledBack.map((r) => r.secret).sort(),
    }).toEqual({
      outcome: 'rolled-back',
      counts: { pending: 0, running: 0, rotated: 9, 'rolled-back': 3, 'needs-attention': 0, skipped: 0 },
      rotated: cases
        .filter((c) => !c.rejects)
        .map((c) => c.secret)
        .sort(),
      rolledBack: [...rejecting].sort(),
    });
    // They rolled back for their canary, not for the throttle.
    for (const r of report.rolledBack) expect(r.why).toMatch(/canary/i);
    expect(report.throttles?.['vault'] ?? 0).toBeGreaterThan(0);
    expect(heldVault).toBe(true);
    // Printed for the record: how much the throttle slowed it.
    console.info(
      `throttled incident: 12 rotations in ${seconds.toFixed(1)} s, vault throttled ${report.throttles?.['vault'] ?? 0}×`,
    );

    // The stores, read directly (the quota is gone), say the same as the report, secret by secret.
    expect(await storesAgainstReport(cases, report.rotated)).toEqual([]);
  }, 600_000);
});
