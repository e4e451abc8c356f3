/**
 * Fan-out benchmark (a script, not a test): `npm run bench:fanout -- --clusters 3,100,1000 [--rotations 200]`.
 * For each fleet size it creates the targets (namespaces spread over the stack's apiservers
 * cluster-a/b/c), runs the rotation through the CLI (`rotor rotate --wait`) against a worker of its
 * own, and prints wall time, per-stage times, where the workflow's open time went (activities,
 * workflow tasks, queued; test/bench/time-budget.ts), the parent's history events and bytes, and —
 * in the same run — the irreducible Kubernetes work: per cluster three server-side applies and four
 * reads made directly with the client at the same parallelism. With --rotations N it then starts N
 * rotations of different secrets together on the one worker and reports throughput (test/bench/throughput.ts);
 * the worker takes its tuning (ROTOR_MAX_CONCURRENT_* …) from this process's environment. Cleans up.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import pLimit from 'p-limit';
import { stringify } from 'yaml';
import { serverSideApply } from '../../adapters/kubernetes/patch';
import { connectClient } from '../../adapters/temporal/connection';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationStatus } from '../../core/status';
import { statusQuery } from '../../workflows/definitions';
import { kubeconfigFor, stackKubeconfig } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { startWorkerProcess } from '../helpers/worker-process';
import { historySize } from './history-size';
import { rotorCli } from './rotor-cli';
import { rotationsTogether } from './throughput';
import { formatBudget, timeBudget } from './time-budget';

const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const { values: args } = parseArgs({
  options: {
    clusters: { type: 'string', default: '3,100,1000' },
    parallel: { type: 'string' },
    rotations: { type: 'string', default: '0' },
    // Run the CLI's TypeScript through tsx, as without `npm run build:cli` (the default builds it first).
    'tsx-cli': { type: 'boolean', default: false },
    // Seconds to wait for the --rotations run; rotations still open then are terminated and counted.
    deadline: { type: 'string', default: '540' },
  },
});
const sizes = (args.clusters ?? '')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
/** The parallelism of the baseline table: 10 up to 30 clusters, 50 up to 100, then 100. */
const parallelFor = (n: number) => (args.parallel ? Number(args.parallel) : n <= 30 ? 10 : n <= 100 ? 50 : 100);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

useStackEnv();
const base = stackKubeconfig();
const core = Object.fromEntries(contexts.map((c) => [c, kubeconfigFor(c, base).makeApiClient(CoreV1Api)]));
const api = (context: string) => core[context] as CoreV1Api;

interface Target {
  context: string;
  namespace: string;
}

async function createTargets(run: string, n: number): Promise<Target[]> {
  const targets = Array.from({ length: n }, (_, i) => ({
    context: contexts[i % 3] ?? 'cluster-a',
    // Per size: namespaces of the previous size may still be terminating.
    namespace: `bf-${run}-${n}-${i}`,
  }));
  const limit = pLimit(50);
  await Promise.all(
    targets.map((t) => limit(() => api(t.context).createNamespace({ body: { metadata: { name: t.namespace } } }))),
  );
  return targets;
}

async function deleteTargets(targets: Target[]): Promise<void> {
  const limit = pLimit(50);
  await Promise.all(
    targets.map((t) =>
      limit(() =>
        api(t.context)
          .deleteNamespace({ name: t.namespace })
          .catch(() => undefined),
      ),
    ),
  );
}

/** The same Kubernetes work the rotation needs, made directly: three applies and four reads per cluster. */
async function irreducible(targets: Target[], parallel: number): Promise<number> {
  const limit = pLimit(parallel);
  const name = 'bench-direct';
  const started = Date.now();
  await Promise.all(
    targets.map((t) =>
      limit(async () => {
        for (let step = 0; step < 3; step++) {
          const data = { current: Buffer.from(`v${step}`).toString('base64') };
          await api(t.context).patchNamespacedSecret(
            {
              name,
              namespace: t.namespace,
              body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data },
              fieldManager: 'bench',
              force: true,
            },
            serverSideApply,
          );
        }
        for (let read = 0; read < 4; read++)
          await api(t.context).readNamespacedSecret({ name, namespace: t.namespace });
      }),
    ),
  );
  return Date.now() - started;
}

function cli(argv: string[], cliEnv: NodeJS.ProcessEnv): Promise<number> {
  return rotorCli(argv, cliEnv, args['tsx-cli'] ?? false);
}

async function main(): Promise<void> {
  const run = randomBytes(3).toString('hex');
  if (!args['tsx-cli']) execFileSync(process.execPath, ['--import', 'tsx', 'dev/build-cli.ts'], { stdio: 'inherit' });
  const taskQueue = `bench-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'rotor-bench-'));
  const worker = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log'), startTimeoutMs: 300_000 });
  const client = await connectClient();
  const env = { ...process.env, ROTOR_TASK_QUEUE: taskQueue };
  const rows: string[] = [];
  try {
    for (const [k, n] of sizes.entries()) {
      const parallel = parallelFor(n);
      // A size may repeat (--clusters 3,3,3): each pass gets names of its own.
      const targets = await createTargets(`${run}${k}`, n);
      try {
        const ts = await awsTestStore(`bench-${randomBytes(12).toString('hex')}`);
        const secret = `bf-${run}${k}-${n}`;
        const playbook = {
          apiVersion: 'rotor.dev/v1',
          kind: 'RotationPlaybook',
          metadata: { name: secret },
          spec: {
            secret: { name: secret, store: ts.store },
            credential: { kind: 'random', length: 32 },
            soak: '0s',
            // Plan reads every target (consumers, readers); the 60 s default is sized for tens of clusters.
            timeouts: { plan: n > 300 ? '10m' : '60s' },
            maxParallelClusters: parallel,
            clusters: targets.map((t, i) => ({
              name: `c${i}`,
              context: t.context,
              delivery: 'push',
              namespace: t.namespace,
              secretName: 'app-secret',
            })),
          },
        };
        const file = join(dir, `${secret}.yaml`);
        writeFileSync(file, stringify(playbook));
        const t0 = Date.now();
        const code = await cli(['rotate', file, '--wait', '--requested-by', 'bench'], env);
        const wall = Date.now() - t0;
        const h = client.workflow.getHandle(rotationWorkflowId(secret));
        const status = await h.query<RotationStatus>(statusQuery);
        const history = await h.fetchHistory();
        const described = await h.describe();
        // The CLI's own share (process start, connect, follow): wall minus the workflow's open time.
        const open = (described.closeTime?.getTime() ?? Date.now()) - described.startTime.getTime();
        const { events, bytes, largest } = historySize(history);
        const stages = status.stages
          .filter((s) => s.startedAt !== undefined && s.endedAt !== undefined)
          .map((s) => `${s.name} ${secs((s.endedAt ?? 0) - (s.startedAt ?? 0))}`)
          .join(', ');
        const direct = await irreducible(targets, parallel);
        const line = `| ${n} | ${parallel} | ${secs(wall)} (workflow ${secs(open)}, exit ${code}, ${status.phase}) | ${events} events, ${(bytes / 1024).toFixed(0)} KB (largest payload ${(largest / 1024).toFixed(0)} KB) | ${secs(direct)} | ${(wall / direct).toFixed(1)}× |`;
        rows.push(line);
        process.stdout.write(`${line}\n  stages: ${stages}\n  workflow: ${formatBudget(timeBudget(history))}\n`);
      } finally {
        await deleteTargets(targets);
      }
    }
    const count = Number(args.rotations);
    if (count > 0) {
      const line = await rotationsTogether(client, taskQueue, run, count, Number(args.deadline) * 1000);
      rows.push(line);
      process.stdout.write(`${line}\n`);
    }
  } finally {
    await worker.stop();
    await client.connection.close();
  }
  process.stdout.write(
    `\n| cluster targets | parallel | rotor wall (CLI) | parent history | irreducible | ratio |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:fanout: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
