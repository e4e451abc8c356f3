/**
 * The many-secrets part of `bench:fanout --rotations N`: N rotations of different secrets (one
 * Secrets Manager secret each, no clusters, soak 0) started together on one worker, with throughput,
 * per-rotation latency and the machine's load around the run.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import type { Client } from '@temporalio/client';
import { rotationWorkflowId } from '../../core/ids';
import { awsTestStore } from '../helpers/stores';
import { workerTuningFromEnv } from '../../workers/tuning';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const load = () => loadavg()[0]?.toFixed(1) ?? '?';

/** The q-quantile (0..1) of sorted numbers. */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/**
 * Starts `count` rotations together on `taskQueue`, waits at most `deadlineMs` for them, terminates
 * any still open after that (counted as not finished), and returns one line of figures.
 */
export async function rotationsTogether(
  client: Client,
  taskQueue: string,
  run: string,
  count: number,
  deadlineMs: number,
): Promise<string> {
  const stores = await Promise.all(
    Array.from({ length: count }, (_, i) => awsTestStore(`tp-${i}-${randomBytes(12).toString('hex')}`)),
  );
  const loadBefore = load();
  const t0 = Date.now();
  const handles = await Promise.all(
    stores.map((ts, i) => {
      const name = `tp-${run}-${i}`;
      return client.workflow.start('rotationWorkflow', {
        taskQueue,
        workflowId: rotationWorkflowId(name),
        args: [
          {
            playbook: {
              apiVersion: 'rotor.dev/v1',
              kind: 'RotationPlaybook',
              metadata: { name },
              spec: { secret: { name, store: ts.store }, credential: { kind: 'random', length: 32 }, soak: '0s' },
            },
            trigger: 'manual',
            requestedBy: 'bench',
          },
        ],
      });
    }),
  );
  const started = Date.now() - t0;
  const durations: number[] = [];
  let peakLoad = Number(load());
  const sampler = setInterval(() => (peakLoad = Math.max(peakLoad, Number(load()))), 5000);
  const deadline = new Promise<'late'>((r) => setTimeout(() => r('late'), deadlineMs).unref());
  // What each rotation did before the deadline; a rotation terminated at the deadline is late, not failed.
  const outcomes = await Promise.all(
    handles.map((h) =>
      Promise.race([
        h.result().then(
          () => {
            durations.push(Date.now() - t0);
            return 'done' as const;
          },
          () => 'failed' as const,
        ),
        deadline,
      ]),
    ),
  );
  clearInterval(sampler);
  const wall = Date.now() - t0;
  const failed = outcomes.filter((o) => o === 'failed').length;
  const late = handles.filter((_, i) => outcomes[i] === 'late');
  await Promise.all(late.map((h) => h.terminate('bench deadline').catch(() => undefined)));
  durations.sort((a, b) => a - b);
  const t = workerTuningFromEnv();
  const tuning = `activities ${t.maxConcurrentActivityTaskExecutions}, workflow tasks ${t.maxConcurrentWorkflowTaskExecutions}, cache ${t.maxCachedWorkflows}, pollers ${t.maxConcurrentWorkflowTaskPolls}/${t.maxConcurrentActivityTaskPolls}`;
  return (
    `${count} rotations together (${tuning}): ${secs(wall)}, ` +
    `${(durations.length / (wall / 1000)).toFixed(2)} rotations/s, ${failed} failed, ${late.length} unfinished; ` +
    `start ${secs(started)}, done p50 ${secs(quantile(durations, 0.5))} p95 ${secs(quantile(durations, 0.95))}; ` +
    `load ${loadBefore} → peak ${peakLoad.toFixed(1)}`
  );
}
