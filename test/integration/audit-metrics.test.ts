import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import type { AuditRecord } from '../../workers/audit-record';
import { auditSinks } from '../../workers/audit-sink';
import { depsFromEnv } from '../../workers/deps';
import { RotorMetrics } from '../../workers/metrics';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker } from '../helpers/worker';
import { rotationWorkflowId } from '../../core/ids';

useStackEnv();

function containsValue(text: string, value: string): boolean {
  return [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url')].some((form) =>
    text.includes(form),
  );
}

describe('audit trail and metrics', () => {
  it('records one line per state change of a full rotation, with versions and fingerprints but no value, and counts it in metrics', async () => {
    const ts = await awsTestStore('audit-initial-value-0123456789');
    const before = await ts.snapshot();
    const lines: string[] = [];
    const metrics = new RotorMetrics();
    const server = await metrics.serve(0);
    const tw = await startTestWorker(
      createActivities(depsFromEnv()),
      auditSinks({ write: (l) => lines.push(l), metrics }),
    );
    const playbook = testPlaybook(ts.store, { canaries: [{ type: 'command', name: 'ok', command: ['true'] }] });
    const out = await tw.run(async () =>
      outcomeOf(
        await tw.client.workflow.start('rotationWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [{ playbook, trigger: 'manual', requestedBy: 'alice', reason: 'quarterly' }],
        }),
      ),
    );
    await tw.close();
    expect(out.ok).toBe(true);
    const after = await ts.snapshot();

    const records = lines.map((l) => JSON.parse(l) as AuditRecord);
    expect(records.map((r) => `${r.event}${r.stage ? ` ${r.stage}` : ''}`)).toEqual([
      'rotation-started',
      'stage-started plan',
      'stage-completed plan',
      'stage-started create',
      'stage-completed create',
      'stage-skipped distribute',
      'stage-skipped verify',
      'stage-started canary',
      'stage-completed canary',
      'stage-skipped promote-gate',
      'stage-started promote',
      'stage-completed promote',
      'stage-skipped soak',
      'stage-skipped approval',
      'stage-skipped revoke-gate',
      'stage-started revoke',
      'stage-completed revoke',
      'stage-started finalize',
      'stage-completed finalize',
      'rotation-completed',
    ]);
    for (const r of records) {
      expect(r).toMatchObject({
        secret: playbook.spec.secret.name,
        trigger: 'manual',
        requestedBy: 'alice',
        reason: 'quarterly',
      });
      expect(Date.parse(r.time)).not.toBeNaN();
      expect(r.workflowId).toBe(rotationWorkflowId(playbook.spec.secret.name));
    }
    const done = records.at(-1);
    expect(done?.current?.version).toBe(after.currentVersion);
    expect(done?.current?.fingerprint).toMatch(/^hmac:[\w.-]+:[0-9a-f]{24}$/);
    const all = lines.join('');
    expect(containsValue(all, before.currentValue)).toBe(false);
    expect(containsValue(all, after.currentValue)).toBe(false);

    const port = (server.address() as AddressInfo).port;
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    server.close();
    expect(body).toContain('rotor_rotations_started_total{trigger="manual"} 1');
    expect(body).toContain('rotor_rotations_completed_total{trigger="manual"} 1');
    expect(body).toMatch(/rotor_stage_duration_seconds_count\{stage="canary"\} 1/);
  });
});
