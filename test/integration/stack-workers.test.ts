/**
 * The stack's optional `workers` service (dev/local-stack/services/workers.ts) and the demo on it:
 * `dev/stack up workers` builds (or takes from the cache) the worker image, runs the pod gateway,
 * and installs the chart into cluster-a with real identities; `dev/stack status` reports it healthy
 * (both replicas available), a second `up` changes nothing, and `npm run demo -- --in-cluster`
 * rotates the demo playbook across the three clusters with the two pods only: they are the task
 * queue's only pollers, and every task in the run's history names one of them. `dev/stack down
 * workers` at the end uninstalls the release and stops the gateway.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationResult } from '../../core/status';
import { stackPaths } from '../../dev/local-stack/config';
import { inCluster, installedRelease } from '../../dev/local-stack/workers/install';
import { buildIdsOf, identitiesIn, toHistoryJson } from '../helpers/history';
import { kubeconfigFor } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';
import { taskQueuePollers } from '../helpers/task-queue';

const run = promisify(execFile);
useStackEnv();
const kcA = kubeconfigFor('cluster-a');
const { TaskQueueType } = temporal.api.enums.v1;

let client: Client;
let upOutput = '';

/** `dev/stack <args>`, its output (stdout and stderr) when it succeeds. */
async function stack(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run('dev/stack', args, { maxBuffer: 16 * 1024 * 1024, timeout: 900_000 });
  return `${stdout}${stderr}`;
}

/** The release's worker pods that are not being deleted, by name. */
async function workerPods(): Promise<string[]> {
  const pods = await kcA.makeApiClient(CoreV1Api).listNamespacedPod({
    namespace: inCluster.namespace,
    labelSelector: `app.kubernetes.io/instance=${inCluster.release}`,
  });
  return pods.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => p.metadata?.name ?? '')
    .sort();
}

/** `npm run demo -- --in-cluster` as its script runs it: exit code and output. */
function demoInCluster(): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const demo = spawn(process.execPath, ['--import', 'tsx', 'dev/demo.ts', '--in-cluster'], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const s of [demo.stdout, demo.stderr]) s.on('data', (c: Buffer) => (output += c.toString()));
    demo.once('exit', (code) => resolve({ code: code ?? -1, output }));
  });
}

beforeAll(async () => {
  client = await connectClient();
  upOutput = await stack('up', 'workers');
}, 900_000);

afterAll(async () => {
  await stack('down', 'workers').catch((e: unknown) => console.error(`dev/stack down workers: ${String(e)}`));
  await client?.connection.close();
}, 180_000);

describe('the stack service workers', () => {
  it('comes up healthy: the chart in cluster-a with both replicas available, and a second up changes nothing', async () => {
    expect(upOutput).toMatch(/workers: (healthy|already healthy) at release rotor-system\/rotor/);
    const status = JSON.parse(await stack('status', '--json')) as {
      services: { name: string; state: string; pids: number[]; detail?: string }[];
    };
    const workers = status.services.find((s) => s.name === 'workers');
    expect(workers).toMatchObject({ state: 'healthy' });
    expect(workers?.pids).toHaveLength(1); // the pod gateway

    const installed = installedRelease(stackPaths());
    expect(installed).toBeDefined();
    const d = await kcA
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ namespace: inCluster.namespace, name: installed?.deployment ?? '' });
    expect(d.status?.availableReplicas).toBe(2);
    const pods = await workerPods();
    expect(pods).toHaveLength(2);

    // Idempotent: the second up finds it healthy and leaves the pods alone.
    expect(await stack('up', 'workers')).toContain('workers: already healthy');
    expect(await workerPods()).toEqual(pods);
  }, 300_000);

  it('npm run demo -- --in-cluster rotates across the three clusters with the two pods, and no worker on the host', async () => {
    const pods = await workerPods();
    const demo = await demoInCluster();
    expect(demo.output).toContain('no worker on this host');
    if (demo.code !== 0) throw new Error(`the demo exited ${demo.code}:\n${demo.output.slice(-4000)}`);
    expect(demo.output).toMatch(/✔ rotated demo-api-key/);

    const h = client.workflow.getHandle(rotationWorkflowId('demo-api-key'));
    expect(((await h.result()) as RotationResult).outcome).toBe('rotated');
    expect((await h.describe()).taskQueue).toBe(inCluster.taskQueue);
    // Every task of the run was one of the pods' (the chart names each worker after its pod), on the installed build.
    const history = await h.fetchHistory();
    const worked = identitiesIn(toHistoryJson(history));
    expect(worked.length).toBeGreaterThan(0);
    expect(worked.filter((i) => !pods.includes(i))).toEqual([]);
    expect(new Set(buildIdsOf(history))).toEqual(new Set([installedRelease(stackPaths())?.buildId]));
    // And only pods poll the task queue: nothing on the host does. (The server lists a poller for a
    // few minutes after it stops, so pods of an earlier `up` of this Deployment may still be there.)
    const deployment = installedRelease(stackPaths())?.deployment ?? '';
    for (const type of [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
      const pollers = await taskQueuePollers(client, inCluster.taskQueue, type);
      expect(pollers).toEqual(expect.arrayContaining(pods));
      expect(pollers.filter((p) => !p.startsWith(`${deployment}-`))).toEqual([]);
    }
  }, 300_000);
});
