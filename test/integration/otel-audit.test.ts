/**
 * Audit over OpenTelemetry: a real rotation on the stack (Vault, two clusters) through a worker process
 * that exports to the stack's OpenTelemetry Collector (OTEL_EXPORTER_OTLP_ENDPOINT from `dev/stack env`);
 * the collector's files hold one trace for the run — root, stage and cluster spans — and a log record
 * per audit event, without any value.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput, RotationResult } from '../../core/status';
import { rotationTraceId } from '../../workers/otel-audit';
import { kubeconfigFor, freshNamespace, purgeNamespace } from '../helpers/kube';
import { attr, waitForOtelOfRun } from '../helpers/otel';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { vaultTestStore } from '../helpers/stores';
import { outcomeOf } from '../helpers/worker';
import { startWorkerProcess } from '../helpers/worker-process';
import type { WorkerProcess } from '../helpers/worker-process';

useStackEnv();
const contexts = ['cluster-a', 'cluster-b'];

describe('audit trail and rotation stages over OTLP, through the stack collector', () => {
  let client: Client;
  let wp: WorkerProcess;
  let dir: string;
  const namespaces: Record<string, string> = {};
  const taskQueue = `otel-${randomUUID()}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rotor-otel-'));
    for (const c of contexts) namespaces[c] = await freshNamespace(kubeconfigFor(c), 'otel');
    wp = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log') });
    client = await connectClient();
  });
  afterAll(async () => {
    await wp?.stop();
    await client?.connection.close();
    for (const [c, ns] of Object.entries(namespaces)) await purgeNamespace(kubeconfigFor(c), ns).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('one trace per rotation with stage and cluster spans, a log record per audit event, and no value', async () => {
    const initial = randomBytes(24).toString('base64url');
    const ts = await vaultTestStore(initial);
    const secretName = `otel-${randomBytes(3).toString('hex')}`;
    const playbook = testPlaybook(ts.store, {
      clusters: contexts.map((c) => ({
        name: c,
        delivery: 'push' as const,
        namespace: namespaces[c] ?? '',
        secretName,
        workloads: [],
      })),
    });
    const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'otel-test' };
    const h = await client.workflow.start('rotationWorkflow', {
      taskQueue,
      workflowId: rotationWorkflowId(playbook.spec.secret.name),
      args: [input],
    });
    const out = await outcomeOf<RotationResult>(h);
    expect(out.ok).toBe(true);
    const fresh = (await ts.snapshot()).currentValue;
    expect(fresh !== initial).toBe(true);

    const runId = h.firstExecutionRunId;
    const { spans, logs, text } = await waitForOtelOfRun(runId);

    // One trace: every span of the run carries the trace id derived from the run id, one root.
    const traceId = rotationTraceId(runId);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    const roots = spans.filter((s) => !s.parentSpanId);
    expect(roots.map((s) => s.name)).toEqual([`rotation ${playbook.spec.secret.name}`]);
    const root = roots[0];
    if (!root) throw new Error('no root span');

    // A span per stage, children of the root, within its time.
    const stages = spans.filter((s) => s.name.startsWith('stage '));
    const stageNames = stages.map((s) => s.name.slice('stage '.length));
    for (const stage of ['plan', 'create', 'distribute', 'verify', 'promote', 'revoke', 'finalize'])
      expect(stageNames).toContain(stage);
    // Durations are workflow time, placed back from when the worker's sink saw each event: allow 2 s of skew.
    const skew = 2_000_000_000n;
    for (const s of stages) {
      expect(s.parentSpanId).toBe(root.spanId);
      expect(BigInt(s.startTimeUnixNano) >= BigInt(root.startTimeUnixNano) - skew).toBe(true);
      expect(BigInt(s.endTimeUnixNano) <= BigInt(root.endTimeUnixNano) + skew).toBe(true);
    }

    // A span per cluster step, each under the stage it ran in.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const clusterSpans = spans.filter((s) => s.name.startsWith('cluster '));
    for (const c of contexts) {
      const mine = clusterSpans.filter((s) => attr(s, 'rotor.cluster') === c);
      expect(mine.length).toBeGreaterThanOrEqual(3);
      for (const s of mine) expect(byId.get(s.parentSpanId ?? '')?.name).toMatch(/^stage /);
    }
    const promoteA = clusterSpans.find((s) => s.name === 'cluster cluster-a promote');
    expect(byId.get(promoteA?.parentSpanId ?? '')?.name).toBe('stage promote');

    // The audit records: the same events as the JSON-lines trail, in the run's trace.
    const trail = readFileSync(wp.auditFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { runId: string; event: string })
      .filter((r) => r.runId === runId);
    expect(trail.length).toBeGreaterThan(10);
    expect(logs.map((r) => r.body?.stringValue).sort()).toEqual(trail.map((r) => r.event).sort());
    for (const r of logs) expect(r.traceId).toBe(traceId);
    const completed = logs.find((r) => r.body?.stringValue === 'rotation-completed');
    expect(completed && attr(completed, 'rotor.current.fingerprint')).toMatch(/^hmac:/);
    expect(completed && attr(completed, 'rotor.secret')).toBe(playbook.spec.secret.name);

    // No value: neither the old nor the new one, in any common encoding.
    for (const v of [initial, fresh]) {
      for (const form of [v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('hex')])
        expect(text.includes(form)).toBe(false);
    }
  });
});
