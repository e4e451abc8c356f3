/**
 * `rotor plan` knows the consumers: real pods on the stack's node reading the Secret through a
 * volume (refreshed in place) and through envFrom (restart-only); the restart-only one whose
 * Deployment the playbook does not roll out is a plan problem naming pod, workload, how and the fix.
 * A compromised emergency goes on past it (a warning in the audit trail) and revokes the old credential.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { rotationWorkflowId } from '../../core/ids';
import { blastRadius, renderBlastRadius } from '../../inspect/blast-radius';
import { depsFromEnv } from '../../workers/deps';
import { kubeconfigFor, purgeNamespace, sleeperTemplate, stackKubeconfig } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';
import type { RotationResult } from '../../core/status';
import type { AuditEvent } from '../../workflows/audit';

useStackEnv();
const kc = kubeconfigFor('cluster-a');
const namespace = `plan-consumers-${randomBytes(4).toString('hex')}`;
const secretName = 'db-credential';

function deployment(name: string, reads: 'volume' | 'envFrom') {
  const template = sleeperTemplate({ app: name });
  const [container] = template.spec?.containers ?? [];
  if (!container) throw new Error('sleeperTemplate has no container');
  if (reads === 'volume') {
    container.volumeMounts = [{ name: 'cred', mountPath: '/var/run/cred' }];
    template.spec = { ...template.spec, containers: [container], volumes: [{ name: 'cred', secret: { secretName } }] };
  } else {
    container.envFrom = [{ secretRef: { name: secretName } }];
  }
  return { metadata: { name }, spec: { replicas: 1, selector: { matchLabels: { app: name } }, template } };
}

afterAll(async () => {
  await purgeNamespace(kc, namespace).catch(() => undefined);
});

describe('rotor plan: consumers of the Secret', () => {
  it('lists volume and envFrom consumers with their Deployments, and flags the unlisted restart-only one', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: secretName }, stringData: { value: 'x' } },
    });
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace, body: deployment('reader-volume', 'volume') });
    await apps.createNamespacedDeployment({ namespace, body: deployment('reader-env', 'envFrom') });
    // Pods exist once the ReplicaSets made them; the plan reads specs, so they need not be Ready.
    const deadline = Date.now() + 60_000;
    while ((await core.listNamespacedPod({ namespace })).items.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
    }
    const ts = await awsTestStore('plan-consumers-initial');
    const playbook = testPlaybook(ts.store, {
      clusters: [{ name: 'cluster-a', delivery: 'push', namespace, secretName }],
    });
    const plan = await blastRadius(playbook, stackKubeconfig());
    const cluster = plan.clusters[0];
    expect(cluster?.consumers.map((c) => [c.workload.kind, c.workload.name, c.modes, c.restartOnly])).toEqual(
      expect.arrayContaining([
        ['Deployment', 'reader-volume', ['volume'], false],
        ['Deployment', 'reader-env', ['envFrom'], true],
      ]),
    );
    const problem = cluster?.problems.find((p) => p.includes('reader-env'));
    expect(problem).toMatch(
      new RegExp(
        `^cluster-a: pod ${namespace}/reader-env-\\S+ \\(Deployment reader-env\\) reads Secret ${secretName} through envFrom, which only a restart refreshes; add \\{ kind: Deployment, name: reader-env \\} to spec.clusters\\[cluster-a\\].workloads$`,
      ),
    );
    expect(cluster?.problems.some((p) => p.includes('reader-volume'))).toBe(false);
    expect(renderBlastRadius(plan)).toMatch(
      /consumer pod reader-volume-\S+ of Deployment reader-volume reads it through volume \(refreshed in place\)/,
    );
  });

  it('stops the rotation at plan, before anything changes, when an env consumer is not rolled out', async () => {
    const ts = await awsTestStore('plan-consumers-stop');
    const before = await ts.snapshot();
    const playbook = testPlaybook(ts.store, {
      clusters: [
        {
          name: 'cluster-a',
          delivery: 'push',
          namespace,
          secretName,
          workloads: [{ kind: 'Deployment', name: 'reader-volume' }],
        },
      ],
    });
    const tw = await startTestWorker(createActivities(depsFromEnv()));
    try {
      const out = await tw.run(async () => outcomeOf(await startRotation(tw, playbook)));
      expect(out.ok).toBe(false);
      const chain: string[] = [];
      for (let e: unknown = out.ok ? undefined : out.error; e instanceof Error; e = e.cause) {
        chain.push(`${(e as { type?: string }).type ?? e.name}: ${e.message}`);
      }
      expect(chain.join('\n')).toMatch(
        /RestartOnlyConsumerNotRolledOut: nothing was changed:\ncluster-a: pod \S+\/reader-env-\S+ \(Deployment reader-env\) reads Secret db-credential through envFrom/,
      );
      expect(await ts.snapshot()).toEqual(before);
      expect(await ts.versionCount()).toBe(1);
      const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: secretName, namespace });
      expect(Object.keys(secret.data ?? {})).toEqual(['value']);
    } finally {
      await tw.close();
    }
  });

  it('lets a compromised emergency go on past the same consumer, as a warning, and revokes the old credential', async () => {
    const ts = await awsTestStore('plan-consumers-compromised');
    const before = await ts.snapshot();
    const playbook = testPlaybook(ts.store, {
      clusters: [
        {
          name: 'cluster-a',
          delivery: 'push',
          namespace,
          secretName,
          workloads: [{ kind: 'Deployment', name: 'reader-volume' }],
        },
      ],
      // The restart-only pod never passes the gates: bound them (an emergency halves this again).
      timeouts: { gate: '20s' },
    });
    const audit: AuditEvent[] = [];
    const tw = await startTestWorker(createActivities(depsFromEnv()), {
      audit: { record: { fn: (_info, e: AuditEvent) => void audit.push(e) } },
    });
    try {
      const out = await tw.run(async () =>
        outcomeOf<RotationResult>(
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
      expect(out.ok ? out.result.outcome : out.error).toBe('rotated');
      const warnings = audit.filter((e) => e.event === 'consumer-gate' && e.detail?.startsWith('warning'));
      expect(warnings.map((e) => `${e.stage ?? ''}: ${e.detail ?? ''}`)).toContainEqual(
        expect.stringMatching(
          /^plan: warning, not blocking a compromised rotation: cluster-a: pod \S+\/reader-env-\S+ \(Deployment reader-env\) reads Secret db-credential through envFrom/,
        ),
      );
      const after = await ts.snapshot();
      expect(after.previousVersion).toBe(before.currentVersion);
      expect(after.currentValue).not.toBe(before.currentValue);
    } finally {
      await tw.close();
    }
  });
});
