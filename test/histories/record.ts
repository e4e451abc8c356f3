/**
 * Records the replay fixtures (see README.md): the rotations below on the real stack (moto, two
 * real clusters with the consumer gate, the store lock), then the tests that already drive the
 * other paths, with `ROTOR_RECORD_HISTORIES` set so they save the runs they mark (approval granted
 * and timed out, needs-attention and its retry, continue-as-new, a scheduled run waiting for its
 * window, batch children, an emergency superseding a scheduled run, each credential kind's success
 * and rollback on the stack's Vault PKI, Redis, MariaDB and clusters, a run under `identity:
 * kubernetes` started through the controller). `incompatible.json` is derived from the success
 * history. Every history is scanned for secrets before it is written (history-recorder.ts).
 *
 *   npx tsx test/histories/record.ts                 replaces every fixture (a deliberately
 *                                                    incompatible change ships: README.md)
 *   npx tsx test/histories/record.ts --only <file>…  records only the fixtures those test files
 *                                                    mark, beside the others (a new path)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { createActivities } from '../../activities/index';
import { depsFromEnv } from '../../workers/deps';
import type { HistoryJson } from '../helpers/history';
import { recordRotation } from '../helpers/history-recorder';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker } from '../helpers/worker';
import { kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput } from '../../core/status';

const dir = new URL('.', import.meta.url);

/** The success history with one scheduled activity renamed: what an older workflow version would have recorded. */
function makeIncompatible<T extends HistoryJson>(success: T, from = 'promoteVersion', to = 'promoteVersionV0'): T {
  let renamed = 0;
  const events = success.events.map((e) => {
    const a = e['activityTaskScheduledEventAttributes'] as { activityType?: { name?: string } } | undefined;
    if (a?.activityType?.name !== from) return e;
    renamed++;
    return { ...e, activityTaskScheduledEventAttributes: { ...a, activityType: { name: to } } };
  });
  if (renamed !== 1) throw new Error(`expected one scheduled ${from}, found ${renamed}`);
  return { ...success, events };
}

/** The integration files that mark runs as fixtures (`recordHistory` / `recordRotation`). */
const integrationRecorders = [
  'test/integration/cluster-batches.test.ts',
  'test/integration/emergency.test.ts',
  'test/integration/rotation-vault-pki.test.ts',
  'test/integration/rotation-vault-pki-ca.test.ts',
  'test/integration/rotation-jwt.test.ts',
  'test/integration/rotation-redis.test.ts',
  'test/integration/rotation-mariadb.test.ts',
  'test/integration/kube-identity.test.ts',
];

/** The test runs that mark runs as fixtures (`ts.record` in the workflow project, the files above). */
const recordingTests = [
  ['--project', 'workflow'],
  ['--project', 'integration', ...integrationRecorders],
];

/** `--only <file>…`: those recording test files alone, every other fixture kept. */
function onlyFiles(argv: string[]): string[] | undefined {
  const at = argv.indexOf('--only');
  if (at < 0) return undefined;
  const files = argv.slice(at + 1);
  const unknown = files.filter((f) => !integrationRecorders.includes(f) && !f.startsWith('test/workflow/'));
  if (files.length === 0 || unknown.length > 0)
    throw new Error(
      `--only takes recording test files (${integrationRecorders.join(', ')} or test/workflow/*); not: ${unknown.join(', ') || '(none given)'}`,
    );
  return files;
}

const vitest = (args: string[]): void => {
  const r = spawnSync('npx', ['vitest', 'run', ...args], { stdio: 'inherit', env: process.env });
  if (r.status !== 0) throw new Error(`recording tests failed: vitest run ${args.join(' ')}`);
};

async function recordOnStack(): Promise<void> {
  const tw = await startTestWorker(createActivities(depsFromEnv()));
  try {
    const run = async (name: string, spec: Parameters<typeof testPlaybook>[1], expectOk: boolean, children = false) => {
      const ts = await awsTestStore(`replay-fixture-${Date.now()}`);
      const playbook = testPlaybook(ts.store, spec);
      const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'record.ts' };
      const h = await tw.client.workflow.start('rotationWorkflow', {
        taskQueue: tw.taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [input],
      });
      const out = await tw.run(() => outcomeOf(h));
      if (out.ok !== expectOk) throw new Error(`${name}: expected ${expectOk ? 'success' : 'a rollback'}`);
      await recordRotation(h, name, ts, { children });
    };
    const accepts = { type: 'command' as const, name: 'accepts', command: ['sh', '-c', 'cat >/dev/null'] };
    const rejects = { type: 'command' as const, name: 'rejects', command: ['sh', '-c', 'cat >/dev/null; exit 3'] };
    // Its store-lock child stands for every run's.
    await run('rotation-success', { canaries: [accepts], soak: '1s' }, true, true);
    await run('rotation-rolled-back', { canaries: [rejects] }, false);

    // Two real push clusters in two waves: cluster steps in the rotation, the consumer gates, the proof.
    const namespace = `replay-${Date.now()}`;
    const names = ['cluster-a', 'cluster-b'];
    for (const c of names)
      await kubeconfigFor(c)
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: namespace } } });
    const clusters = names.map((name) => ({ name, delivery: 'push' as const, namespace, secretName: 'replay-key' }));
    const waves = [['cluster-a'], ['cluster-b']];
    await run('rotation-clusters-success', { clusters, waves, canaries: [accepts] }, true);
    await run('rotation-clusters-rolled-back', { clusters, waves, canaries: [rejects] }, false);
    for (const c of names) await purgeNamespace(kubeconfigFor(c), namespace);
  } finally {
    await tw.close();
  }
}

async function main(): Promise<void> {
  useStackEnv();
  const out = fileURLToPath(dir);
  process.env['ROTOR_RECORD_HISTORIES'] = out;
  const only = onlyFiles(process.argv.slice(2));
  if (only) {
    const workflow = only.filter((f) => f.startsWith('test/workflow/'));
    const integration = only.filter((f) => !workflow.includes(f));
    if (workflow.length > 0) vitest(['--project', 'workflow', ...workflow]);
    if (integration.length > 0) vitest(['--project', 'integration', ...integration]);
    process.stdout.write(`recorded the fixtures of ${only.join(', ')} in ${out}\n`);
    return;
  }
  for (const f of readdirSync(out)) if (f.endsWith('.json')) rmSync(new URL(f, dir));
  await recordOnStack();
  for (const args of recordingTests) vitest(args);
  const success = JSON.parse(readFileSync(new URL('rotation-success.json', dir), 'utf8')) as HistoryJson & {
    workflowId: string;
  };
  writeFileSync(new URL('incompatible.json', dir), `${JSON.stringify(makeIncompatible(success), null, 2)}\n`);
  process.stdout.write(`recorded ${readdirSync(out).filter((f) => f.endsWith('.json')).length} fixtures in ${out}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`record: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
