/**
 * Records the replay fixtures: one successful and one rolled-back rotation on moto, run by a test
 * worker with the real activities. Histories are saved decoded (codec removed), so the replay test
 * does not depend on this machine's codec key. `incompatible.json` is derived from the success
 * history; see README.md. Run: `npx tsx test/histories/record.ts` (stack up).
 * `--clusters` records only the fixtures with clusters (waves over two push clusters, revocation
 * proof), leaving the older fixtures as they are: they guard runs recorded by older code;
 * `--clusters --as <base>` writes them as `<base>-success.json` and `<base>-rolled-back.json`.
 */
import { writeFileSync } from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { CoreV1Api } from '@kubernetes/client-node';
import { createActivities } from '../../activities/index';
import { depsFromEnv } from '../../workers/deps';
import { AesGcmCodec } from '../../adapters/temporal/codec';
import { loadKey } from '../../adapters/keys';
import type { HistoryJson } from '../helpers/history';
import { decodePayload, mapPayloads, toHistoryJson } from '../helpers/history';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startTestWorker } from '../helpers/worker';
import { kubeconfigFor, purgeNamespace } from '../helpers/kube';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationInput } from '../../core/status';

const dir = new URL('.', import.meta.url);

/** The success history with one scheduled activity renamed: what an older workflow version would have recorded. */
function makeIncompatible(success: HistoryJson, from = 'promoteVersion', to = 'promoteVersionV0'): HistoryJson {
  let renamed = 0;
  const events = success.events.map((e) => {
    const a = e['activityTaskScheduledEventAttributes'] as { activityType?: { name?: string } } | undefined;
    if (a?.activityType?.name !== from) return e;
    renamed++;
    return { ...e, activityTaskScheduledEventAttributes: { ...a, activityType: { name: to } } };
  });
  if (renamed !== 1) throw new Error(`expected one scheduled ${from}, found ${renamed}`);
  return { events };
}

async function main(): Promise<void> {
  useStackEnv();
  const codec = new AesGcmCodec(loadKey('ROTOR_CODEC_KEY'));
  const tw = await startTestWorker(createActivities(depsFromEnv()));
  const save = async (name: string, h: WorkflowHandle) => {
    const json = await mapPayloads(toHistoryJson(await h.fetchHistory()), (p) => decodePayload(codec, p));
    // Replay must run under the original workflow id: child workflow ids are derived from it.
    writeFileSync(new URL(name, dir), `${JSON.stringify({ workflowId: h.workflowId, ...json }, null, 2)}\n`);
    return json;
  };
  try {
    const run = async (spec: Parameters<typeof testPlaybook>[1]) => {
      const ts = await awsTestStore(`replay-fixture-${Date.now()}`);
      const playbook = testPlaybook(ts.store, spec);
      const input: RotationInput = { playbook, trigger: 'manual', requestedBy: 'record.ts' };
      const h = await tw.client.workflow.start('rotationWorkflow', {
        taskQueue: tw.taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [input],
      });
      return { h, out: await tw.run(() => outcomeOf(h)) };
    };

    if (process.argv.includes('--clusters')) {
      // `--as <base>` names the pair of fixtures (default rotation-clusters), so a later code path gets its own.
      const asAt = process.argv.indexOf('--as');
      const base = asAt > 0 ? (process.argv[asAt + 1] ?? 'rotation-clusters') : 'rotation-clusters';
      const namespace = `replay-${Date.now()}`;
      for (const c of ['cluster-a', 'cluster-b']) await kubeconfigFor(c).makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
      const clusters = ['cluster-a', 'cluster-b'].map((name) => ({ name, delivery: 'push' as const, namespace, secretName: 'replay-key' }));
      const waves = [['cluster-a'], ['cluster-b']];
      const good = await run({ clusters, waves, canaries: [{ type: 'command', name: 'accepts', command: ['sh', '-c', 'cat >/dev/null'] }] });
      if (!good.out.ok) throw new Error(`cluster rotation failed: ${good.out.error.message}`);
      await save(`${base}-success.json`, good.h);
      const failed = await run({ clusters, waves, canaries: [{ type: 'command', name: 'rejects', command: ['sh', '-c', 'cat >/dev/null; exit 3'] }] });
      if (failed.out.ok) throw new Error('cluster rollback rotation unexpectedly succeeded');
      await save(`${base}-rolled-back.json`, failed.h);
      for (const c of ['cluster-a', 'cluster-b']) await purgeNamespace(kubeconfigFor(c), namespace);
      process.stdout.write(`recorded ${base}-success.json, ${base}-rolled-back.json\n`);
      return;
    }

    const ok = await run({ canaries: [{ type: 'command', name: 'accepts', command: ['sh', '-c', 'cat >/dev/null'] }], soak: '1s' });
    if (!ok.out.ok) throw new Error(`success rotation failed: ${ok.out.error.message}`);
    const success = await save('rotation-success.json', ok.h);

    const bad = await run({ canaries: [{ type: 'command', name: 'rejects', command: ['sh', '-c', 'cat >/dev/null; exit 3'] }] });
    if (bad.out.ok) throw new Error('rollback rotation unexpectedly succeeded');
    await save('rotation-rolled-back.json', bad.h);

    writeFileSync(new URL('incompatible.json', dir), `${JSON.stringify(makeIncompatible(success), null, 2)}\n`);
    process.stdout.write('recorded rotation-success.json, rotation-rolled-back.json, incompatible.json\n');
  } finally {
    await tw.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`record: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
