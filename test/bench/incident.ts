/**
 * Incident benchmark (a script, not a test):
 * `npm run bench:incident -- --secrets 1000 --clusters 1 [--concurrency 50] [--per-backend 50] [--one-by-one]`.
 * Creates N Vault KV secrets, each with a playbook delivering it (push) to `--clusters` of the
 * stack's apiservers (round robin over cluster-a/b/c, one bench namespace per apiserver; 0: no
 * cluster), rotates them all as one incident (`rotor incident start --compromised --wait`) on a
 * worker of its own, and prints wall time, rotations/s, failures, backend throttles and the size of
 * the incident's history (events, bytes, largest payload). `--one-by-one` instead starts the same
 * emergency rotations each on its own, as `rotor rotate --emergency --compromised` does, all at
 * once on the same kind of worker: the baseline without the incident's bounds. The worker takes its
 * tuning (ROTOR_MAX_CONCURRENT_* …) from this process's environment. Cleans up what it created.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import vaultClient from 'node-vault';
import pLimit from 'p-limit';
import { stringify } from 'yaml';
import { connectClient } from '../../adapters/temporal/connection';
import { incidentWorkflowId, rotationWorkflowId } from '../../core/ids';
import type { IncidentReport } from '../../core/incident/types';
import { playbookSchema } from '../../core/playbook/schema';
import type { Playbook } from '../../core/playbook/schema';
import type { RotationInput } from '../../core/status';
import { workerTuningFromEnv } from '../../workers/tuning';
import { kubeconfigFor, stackKubeconfig } from '../helpers/kube';
import { useStackEnv } from '../helpers/stack-env';
import { startWorkerProcess } from '../helpers/worker-process';
import { incidentStatusQuery } from '../../workflows/incident/definitions';
import { historySize } from './history-size';
import { incidentProfile, rotationProfile } from './incident-profile';
import { processCpu } from './process-cpu';
import { rotorCli } from './rotor-cli';

const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const { values: args } = parseArgs({
  options: {
    secrets: { type: 'string', default: '1000' },
    clusters: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '50' },
    'per-backend': { type: 'string', default: '50' },
    'one-by-one': { type: 'boolean', default: false },
    // After the run, read every rotation's history and print where their time went (incident-profile.ts).
    profile: { type: 'boolean', default: false },
    // Run the CLI's TypeScript through tsx, as without `npm run build:cli` (the default builds it first).
    'tsx-cli': { type: 'boolean', default: false },
    // Seconds to wait; what is still open then is aborted (incident) or terminated (one by one).
    deadline: { type: 'string', default: '900' },
  },
});
const secrets = Number(args.secrets);
const clusters = Number(args.clusters);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const load = () => loadavg()[0] ?? 0;
const env = { ...process.env, ...useStackEnv() };
const vault = vaultClient({ endpoint: env['VAULT_ADDR'], token: env['VAULT_TOKEN'] });
const base = stackKubeconfig();
const core = Object.fromEntries(contexts.map((c) => [c, kubeconfigFor(c, base).makeApiClient(CoreV1Api)]));
const api = (context: string) => core[context] as CoreV1Api;

/** N Vault secrets under `rotor-bench/<run>/` and their playbooks, written into `dir`. */
async function createSecrets(run: string, dir: string, namespace: string): Promise<Playbook[]> {
  const limit = pLimit(20);
  return Promise.all(
    Array.from({ length: secrets }, (_, i) =>
      limit(async () => {
        const name = `bi-${run}-${String(i).padStart(5, '0')}`;
        const path = `rotor-bench/${run}/${i}`;
        await vault.write(`secret/data/${path}`, { data: { value: randomBytes(24).toString('base64url') } });
        const playbook = playbookSchema.parse({
          apiVersion: 'rotor.dev/v1',
          kind: 'RotationPlaybook',
          metadata: { name, labels: { bench: run } },
          spec: {
            secret: { name, store: { type: 'vault', mount: 'secret', path, key: 'value' } },
            credential: { kind: 'random', length: 32 },
            soak: '0s',
            clusters: Array.from({ length: clusters }, (_, k) => ({
              name: `c${k}`,
              context: contexts[(i + k) % contexts.length] ?? 'cluster-a',
              delivery: 'push',
              namespace,
              secretName: name,
            })),
          },
        });
        writeFileSync(join(dir, `${name}.yaml`), stringify(playbook));
        return playbook;
      }),
    ),
  );
}

async function cleanUp(run: string, namespace: string): Promise<void> {
  const limit = pLimit(20);
  await Promise.all(
    Array.from({ length: secrets }, (_, i) =>
      limit(() => vault.delete(`secret/metadata/rotor-bench/${run}/${i}`).catch(() => undefined)),
    ),
  );
  if (clusters > 0)
    await Promise.all(
      contexts.map((c) =>
        api(c)
          .deleteNamespace({ name: namespace })
          .catch(() => undefined),
      ),
    );
}

function cli(argv: string[], cliEnv: NodeJS.ProcessEnv): Promise<number> {
  return rotorCli(argv, cliEnv, args['tsx-cli'] ?? false);
}

/** One incident over every playbook of `dir`, through the CLI; its figures as one line. */
async function incident(client: Client, taskQueue: string, run: string, dir: string): Promise<string> {
  const id = `bench-${run}`;
  const t0 = Date.now();
  const started = await cli(
    [
      ...['incident', 'start', dir, '--selector', `bench=${run}`, '--reason', 'bench:incident', '--compromised'],
      ...['--concurrency', String(args.concurrency), '--per-backend', String(args['per-backend'])],
      ...['--id', id, '--requested-by', 'bench'],
    ],
    { ...env, ROTOR_TASK_QUEUE: taskQueue },
  );
  if (started !== 0) throw new Error(`rotor incident start exited ${started}`);
  const h = client.workflow.getHandle(incidentWorkflowId(id));
  const deadline = setTimeout(
    () => {
      process.stderr.write('bench:incident: deadline reached, aborting the incident\n');
      void h
        .executeUpdate('abortIncidentUpdate', { args: [{ by: 'bench', reason: 'deadline' }] })
        .catch(() => undefined);
    },
    Number(args.deadline) * 1000,
  );
  const report = (await h.result()) as IncidentReport;
  clearTimeout(deadline);
  const wall = Date.now() - t0;
  // The last run's history (the incident continues as new past 10,000 events).
  const runs = (await h.query(incidentStatusQuery)).continuations + 1;
  const { events, bytes, largest } = historySize(await h.fetchHistory());
  const c = report.counts;
  const throttles = Object.entries(report.throttles ?? {})
    .map(([b, n]) => `${b} ${n}`)
    .join(', ');
  // Why each failed, grouped: the same cause across many rotations is one line.
  const whys = new Map<string, number>();
  for (const f of [...report.rolledBack, ...report.needsAttention, ...report.skipped])
    whys.set(f.why, (whys.get(f.why) ?? 0) + 1);
  const failures = [...whys].map(([why, n]) => `\n  ${n}× ${why.slice(0, 300)}`).join('');
  return (
    `incident: ${c.rotated}/${secrets} rotated in ${secs(wall)} (from the CLI's start), ` +
    `${(c.rotated / (wall / 1000)).toFixed(2)} rotations/s; failures ${c['rolled-back'] + c['needs-attention'] + c.skipped + c.pending} ` +
    `(${c['rolled-back']} rolled back, ${c['needs-attention']} needs attention, ${c.skipped} skipped, ${c.pending} not started); ` +
    `throttles ${throttles || 'none'}; parent history (${runs === 1 ? 'one run' : `last of ${runs} runs (continue-as-new)`}) ` +
    `${events} events, ${(bytes / 1024).toFixed(0)} KB, largest payload ${(largest / 1024).toFixed(0)} KB${failures}`
  );
}

/** An error and its causes' messages, innermost last. */
function causeText(e: unknown): string {
  const parts: string[] = [];
  for (let c = e as { message?: string; cause?: unknown } | undefined; c; c = c.cause as typeof c)
    if (c.message) parts.push(c.message);
  return parts.join(': ');
}

/** The same emergency rotations, each started on its own as `rotor rotate --emergency --compromised` does. */
async function oneByOne(client: Client, taskQueue: string, playbooks: Playbook[], dir: string): Promise<string> {
  const t0 = Date.now();
  const limit = pLimit(20);
  const handles = await Promise.all(
    playbooks.map((playbook) =>
      limit(() => {
        const input: RotationInput = {
          playbook,
          playbookFile: join(dir, `${playbook.metadata.name}.yaml`),
          trigger: 'emergency',
          requestedBy: 'bench',
          reason: 'bench:incident --one-by-one',
          emergency: { compromised: true },
        };
        return client.workflow.start('rotationWorkflow', {
          taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [input],
        });
      }),
    ),
  );
  const started = Date.now() - t0;
  const whys = new Map<string, number>();
  const late = new Promise<'late'>((r) => setTimeout(() => r('late'), Number(args.deadline) * 1000).unref());
  const outcomes = await Promise.all(
    handles.map((h) =>
      Promise.race([
        h.result().then(
          () => 'done' as const,
          (e: unknown) => {
            const why = causeText(e);
            whys.set(why, (whys.get(why) ?? 0) + 1);
            return 'failed' as const;
          },
        ),
        late,
      ]),
    ),
  );
  const wall = Date.now() - t0;
  const unfinished = handles.filter((_, i) => outcomes[i] === 'late');
  await Promise.all(unfinished.map((h) => h.terminate('bench deadline').catch(() => undefined)));
  const done = outcomes.filter((o) => o === 'done').length;
  return (
    `one by one: ${done}/${secrets} rotated in ${secs(wall)} (all started in ${secs(started)}), ` +
    `${(done / (wall / 1000)).toFixed(2)} rotations/s; failures ${outcomes.filter((o) => o === 'failed').length}, ` +
    `unfinished ${unfinished.length}; no parent history${[...whys].map(([why, n]) => `\n  ${n}× ${why.slice(0, 300)}`).join('')}`
  );
}

/** Where the rotations' (and the incident's) time went, read from their histories after the run. */
async function profile(client: Client, run: string, playbooks: Playbook[]): Promise<string> {
  const limit = pLimit(8);
  const histories = await Promise.all(
    playbooks.map((p) =>
      limit(() =>
        client.workflow
          .getHandle(rotationWorkflowId(p.spec.secret.name))
          .fetchHistory()
          .catch(() => undefined),
      ),
    ),
  );
  const lines = rotationProfile(histories.filter((h) => h !== undefined));
  if (!args['one-by-one']) {
    const runs = client.workflow.list({ query: `WorkflowId = '${incidentWorkflowId(`bench-${run}`)}'` });
    for await (const r of runs)
      lines.push(...incidentProfile(await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory()));
  }
  return lines.map((l) => `  ${l}`).join('\n');
}

async function main(): Promise<void> {
  if (!(secrets > 0) || !(clusters >= 0 && clusters <= contexts.length))
    throw new Error(`--secrets must be at least 1 and --clusters 0 to ${contexts.length}`);
  const run = randomBytes(3).toString('hex');
  if (!args['one-by-one'] && !args['tsx-cli'])
    execFileSync(process.execPath, ['--import', 'tsx', 'dev/build-cli.ts'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'rotor-bench-incident-'));
  const namespace = `bench-incident-${run}`;
  const taskQueue = `bench-incident-${run}`;
  try {
    if (clusters > 0)
      await Promise.all(contexts.map((c) => api(c).createNamespace({ body: { metadata: { name: namespace } } })));
    const playbooks = await createSecrets(run, dir, namespace);
    const worker = await startWorkerProcess({ taskQueue, logFile: join(dir, 'worker.log'), startTimeoutMs: 300_000 });
    const client = await connectClient();
    const loadBefore = load();
    let peak = loadBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, load())), 5000);
    try {
      const cpu = processCpu({ worker: worker.pid, bench: process.pid });
      const line = args['one-by-one']
        ? await oneByOne(client, taskQueue, playbooks, dir)
        : await incident(client, taskQueue, run, dir);
      const cpuLine = cpu.stop();
      const t = workerTuningFromEnv();
      process.stdout.write(
        `${line}\n  ${secrets} Vault secrets × ${clusters} cluster(s); concurrency ${args.concurrency}, per backend ${args['per-backend']}; ` +
          `worker: activities ${t.maxConcurrentActivityTaskExecutions}, workflow tasks ${t.maxConcurrentWorkflowTaskExecutions}; ` +
          `load ${loadBefore.toFixed(1)} → peak ${peak.toFixed(1)}; worker log ${join(dir, 'worker.log')}\n  ${cpuLine}\n`,
      );
      if (args.profile) process.stdout.write(`${await profile(client, run, playbooks)}\n`);
    } finally {
      clearInterval(sampler);
      await worker.stop();
      await client.connection.close();
    }
  } finally {
    await cleanUp(run, namespace);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:incident: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
