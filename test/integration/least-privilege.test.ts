/**
 * rotor running with exactly the identity `rotor rbac` describes: a ServiceAccount token per
 * cluster bound to the generated Role. The rotation must succeed with it, and the same identity
 * must be refused everything else (other Secrets, listing Secrets).
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import type { ClusterTarget } from '../../core/playbook/schema';
import { depsFromEnv } from '../../workers/deps';
import { createExternalSecret, kubeconfigFor, purgeNamespace, stackKubeconfig, statusOf } from '../helpers/kube';
import { asGeneratedIdentity } from '../helpers/rbac-identity';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';
import { outcomeOf, startRotation, startTestWorker } from '../helpers/worker';

useStackEnv();
const base = stackKubeconfig();
const contexts = ['cluster-a', 'cluster-b', 'cluster-c'] as const;
const subject = { serviceAccount: 'rotor', namespace: 'rotor-system' };

describe('least privilege', () => {
  it('a rotation succeeds with the generated Role, and that identity is denied any other Secret', async () => {
    const ts = await awsTestStore('lp-initial-value');
    const namespace = `lp-${randomBytes(4).toString('hex')}`;
    const secretName = 'payments-api-key';
    const clusters: ClusterTarget[] = [
      { name: 'cluster-a', delivery: 'eso', namespace, secretName, workloads: [] },
      { name: 'cluster-b', delivery: 'push', namespace, secretName, workloads: [] },
      { name: 'cluster-c', delivery: 'push', namespace, secretName, workloads: [] },
    ];
    const playbook = testPlaybook(ts.store, { clusters });
    try {
      for (const context of contexts) {
        const core = kubeconfigFor(context, base).makeApiClient(CoreV1Api);
        await core.createNamespace({ body: { metadata: { name: namespace } } });
        await core.createNamespacedSecret({
          namespace,
          body: { metadata: { name: 'other-team-secret' }, stringData: { password: 'not-for-rotor' } },
        });
      }
      const restricted = await asGeneratedIdentity(playbook, subject);
      await createExternalSecret(kubeconfigFor('cluster-a', base), namespace, {
        name: secretName,
        targetSecret: secretName,
        clusterStore: 'aws',
        remoteKey: ts.store.type === 'aws' ? ts.store.secretId : '',
      });

      const tw = await startTestWorker(createActivities({ ...depsFromEnv(), kubeconfig: restricted }));
      try {
        const out = await tw.run(async () => outcomeOf(await startRotation(tw, playbook)));
        expect(out.ok ? 'rotated' : (out.error.cause as Error | undefined)?.message).toBe('rotated');
      } finally {
        await tw.close();
      }

      for (const context of contexts) {
        const kc = new KubeConfig();
        kc.loadFromOptions({
          ...restricted,
          clusters: restricted.clusters,
          users: restricted.users,
          contexts: restricted.contexts,
          currentContext: context,
        });
        const core = kc.makeApiClient(CoreV1Api);
        expect({
          context,
          read: await statusOf(core.readNamespacedSecret({ name: 'other-team-secret', namespace })),
        }).toEqual({ context, read: 403 });
        expect({ context, list: await statusOf(core.listNamespacedSecret({ namespace })) }).toEqual({
          context,
          list: 403,
        });
        expect({
          context,
          otherNs: await statusOf(core.readNamespacedSecret({ name: secretName, namespace: subject.namespace })),
        }).toEqual({ context, otherNs: 403 });
        expect({ context, own: await statusOf(core.readNamespacedSecret({ name: secretName, namespace })) }).toEqual({
          context,
          own: 200,
        });
      }
    } finally {
      for (const context of contexts)
        await purgeNamespace(kubeconfigFor(context, base), namespace).catch(() => undefined);
    }
  });
});
