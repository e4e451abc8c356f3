/**
 * The consumer gate with real pods on the stack's node (kubelet at its default 1 m sync period):
 * a consumer that reports what it read (opt-in log lines) and one that does not, both reading the
 * Secret through a volume, and an envFrom consumer whose Deployment is rolled out. Every consumer
 * reads both versions before promote — seconds after the Secret changed, not the kubelet's 60–75 s —
 * the new one as current before revoke, and a rollback puts the old version back in their files.
 */
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { rotationWorkflowId } from '../../core/ids';
import type { RotationStatus } from '../../core/status';
import type { AuditRecord } from '../../workers/audit-record';
import { auditSinks } from '../../workers/audit-sink';
import { depsFromEnv } from '../../workers/deps';
import { abortUpdate, statusQuery } from '../../workflows/definitions';
import { expectedReads, readsLog, runningPodOf, shownReads, volumeConsumer, waitRunning } from '../helpers/consumers';
import { freshNamespace, kubeconfigFor, purgeNamespace, sleeperTemplate } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import type { TestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker, waitForPhase } from '../helpers/worker';
import type { TestWorker } from '../helpers/worker';

useStackEnv();
const kc = kubeconfigFor('cluster-a');
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const secretName = 'gate-credential';

describe('consumer gate (real pods)', () => {
  let tw: TestWorker;
  let namespace: string;
  let ts: TestStore;
  let playbook: ReturnType<typeof testPlaybook>;
  const initial = `gate-initial-${Date.now()}`;
  const audit: string[] = [];

  beforeAll(async () => {
    namespace = await freshNamespace(kc, 'gate');
    ts = await awsTestStore(initial);
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: secretName }, stringData: { value: initial } },
    });
    await apps.createNamespacedDeployment({ namespace, body: volumeConsumer('reporter', secretName, true) });
    await apps.createNamespacedDeployment({ namespace, body: volumeConsumer('quiet', secretName, false) });
    const envTemplate = sleeperTemplate({ app: 'envreader' });
    const [c] = envTemplate.spec?.containers ?? [];
    if (c) c.envFrom = [{ secretRef: { name: secretName } }];
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'envreader' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'envreader' } }, template: envTemplate },
      },
    });
    await waitRunning(core, namespace, ['reporter', 'quiet', 'envreader']);
    playbook = testPlaybook(ts.store, {
      clusters: [
        {
          name: 'cluster-a',
          delivery: 'push',
          namespace,
          secretName,
          workloads: [{ kind: 'Deployment', name: 'envreader' }],
        },
      ],
      consumerGate: { settle: '5s' },
    });
    tw = await startTestWorker(createActivities(depsFromEnv()), auditSinks({ write: (l) => audit.push(l) }));
  }, 120_000);
  afterAll(async () => {
    await tw.close();
    await purgeNamespace(kc, namespace).catch(() => undefined);
  });

  it('every consumer reads both versions before promote and the new one as current before revoke', async () => {
    const { out, status } = await tw.run(async () => {
      const h = await startRotation(tw, playbook);
      const o = await outcomeOf(h);
      return { out: o, status: await h.query<RotationStatus>(statusQuery) };
    });
    expect(out.ok).toBe(true);
    const snap = await ts.snapshot();
    const fresh = snap.currentValue;
    const stage = (n: string) => status.stages.find((s) => s.name === n);
    const promoteAt = stage('promote')?.startedAt ?? 0;
    const revokeAt = stage('revoke')?.startedAt ?? 0;
    // The gate took seconds, not the kubelet's sync period.
    for (const g of ['promote-gate', 'revoke-gate']) {
      expect(stage(g)?.state).toBe('done');
      expect((stage(g)?.endedAt ?? 0) - (stage(g)?.startedAt ?? 0)).toBeLessThan(30_000);
    }
    expect(status.clusters[0]?.gate).toMatch(/^revoke gate ✔ [\d.]+s: 1 reported, 1 settled, 1 restart-only ok$/);
    expect(status.consumers?.[0]).toMatchObject({ cluster: 'cluster-a', total: 3, restartOnly: 1, reporting: 1 });

    for (const app of ['reporter', 'quiet']) {
      const pod = await runningPodOf(core, namespace, app);
      const lines = await readsLog(core, namespace, pod);
      const before = (t: number) => lines.filter((l) => l.at < t).map((l) => shownReads(l.reads));
      // Before promote swapped the keys, the pod's own files held the old version and the new one beside it.
      expect(before(promoteAt), app).toContain(expectedReads(pod, initial, fresh));
      // Before revoke, the new version as current and the old one beside it.
      expect(before(revokeAt), app).toContain(expectedReads(pod, fresh, initial));
    }
  }, 240_000);

  it('a rollback puts the old version back in what consumers read, without waiting for the kubelet', async () => {
    const old = (await ts.snapshot()).currentValue;
    const { status } = await tw.run(async () => {
      const h = await tw.client.workflow.start('rotationWorkflow', {
        taskQueue: tw.taskQueue,
        workflowId: rotationWorkflowId(playbook.spec.secret.name),
        args: [
          {
            playbook: { ...playbook, spec: { ...playbook.spec, approval: { beforeRevoke: true } } },
            trigger: 'manual',
            requestedBy: 'test',
          },
        ],
      });
      await waitForPhase(h, 'approval');
      await h.executeUpdate(abortUpdate, { args: [{ by: 'test', reason: 'rollback of consumers' }] });
      await outcomeOf(h);
      return { status: await h.query<RotationStatus>(statusQuery) };
    });
    expect(status.phase).toBe('rolled-back');
    expect(status.compensation.find((c) => c.step === 'resync consumers to the old version')?.ok).toBe(true);
    expect(status.clusters[0]?.gate).toMatch(/^restore gate ✔ [\d.]+s: 1 reported, 1 settled/);
    expect((await ts.snapshot()).currentValue).toBe(old);
    // The rollback ended only once the reporting consumer read the old version alone; the quiet one
    // was touched too, so its kubelet resynced well within its settle time.
    for (const app of ['reporter', 'quiet']) {
      const pod = await runningPodOf(core, namespace, app);
      const lines = await readsLog(core, namespace, pod);
      const last = lines[lines.length - 1];
      expect(last && shownReads(last.reads), app).toBe(expectedReads(pod, old, null));
    }
  }, 300_000);

  it('a compromised rotation shortens the settle time and says so in the audit trail', async () => {
    audit.length = 0;
    const out = await tw.run(async () =>
      outcomeOf(
        await tw.client.workflow.start('rotationWorkflow', {
          taskQueue: tw.taskQueue,
          workflowId: rotationWorkflowId(playbook.spec.secret.name),
          args: [
            {
              playbook,
              trigger: 'emergency',
              requestedBy: 'test',
              reason: 'leaked',
              emergency: { compromised: true },
            },
          ],
        }),
      ),
    );
    expect(out.ok).toBe(true);
    const gates = audit.map((l) => JSON.parse(l) as AuditRecord).filter((r) => r.event === 'consumer-gate');
    const shortened = gates.filter((r) => r.detail?.startsWith('shortened for a compromised rotation'));
    expect(shortened.map((r) => r.stage)).toEqual(['promote-gate', 'revoke-gate']);
    expect(shortened[0]?.detail).toContain('2s after the touch instead of 5s');
    expect(gates.filter((r) => r.cluster === 'cluster-a').map((r) => r.detail)).toEqual([
      expect.stringMatching(/^promote gate ✔ [\d.]+s: 1 reported, 1 settled, 1 restart-only ok$/),
      expect.stringMatching(/^revoke gate ✔ [\d.]+s: 1 reported, 1 settled, 1 restart-only ok$/),
    ]);
  }, 240_000);
});
