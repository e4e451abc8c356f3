import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { blastRadius, renderBlastRadius } from '../../inspect/blast-radius';
import { createExternalSecret, kubeconfigFor, purgeNamespace, stackKubeconfig } from '../helpers/kube';
import { testPlaybook } from '../helpers/playbooks';
import { useStackEnv } from '../helpers/stack-env';
import { awsTestStore } from '../helpers/stores';

useStackEnv();
const base = stackKubeconfig();

describe('rotor plan (blast radius)', () => {
  it('lists what the rotation touches and flags a consumer in a cluster the playbook does not list, changing nothing', async () => {
    const ts = await awsTestStore('plan-initial-value');
    const namespace = `plan-${randomBytes(4).toString('hex')}`;
    const secretName = 'payments-api-key';
    const contexts = ['cluster-a', 'cluster-b', 'cluster-c'];
    try {
      for (const c of contexts)
        await kubeconfigFor(c, base)
          .makeApiClient(CoreV1Api)
          .createNamespace({ body: { metadata: { name: namespace } } });
      // cluster-c consumes the same store entry through ESO, but the playbook lists only a and b.
      for (const c of ['cluster-a', 'cluster-c']) {
        await createExternalSecret(kubeconfigFor(c, base), namespace, {
          name: 'payments-es',
          targetSecret: secretName,
          clusterStore: 'aws',
          remoteKey: ts.store.type === 'aws' ? ts.store.secretId : '',
        });
      }
      const playbook = testPlaybook(ts.store, {
        clusters: [
          { name: 'cluster-a', delivery: 'eso', namespace, secretName },
          {
            name: 'cluster-b',
            delivery: 'push',
            namespace,
            secretName,
            workloads: [{ kind: 'Deployment', name: 'payments-api' }],
          },
        ],
      });
      const before = await kubeconfigFor('cluster-b', base)
        .makeApiClient(CoreV1Api)
        .listNamespacedSecret({ namespace });
      const plan = await blastRadius(playbook, base);
      expect(plan.clusters.map((c) => [c.cluster, c.delivery, c.namespaceExists])).toEqual([
        ['cluster-a', 'eso', true],
        ['cluster-b', 'push', true],
      ]);
      expect(plan.clusters[0]?.externalSecrets.map((e) => e.name)).toEqual(['payments-es']);
      expect(plan.clusters[1]?.secret.exists).toBe(false);
      expect(plan.clusters[1]?.workloads).toEqual([{ kind: 'Deployment', name: 'payments-api', found: false }]);
      expect(plan.unlisted.consumers).toContainEqual(
        expect.objectContaining({ context: 'cluster-c', namespace, externalSecret: 'payments-es', secretName }),
      );
      expect(plan.unlisted.consumers.some((c) => c.context === 'cluster-a' || c.context === 'cluster-b')).toBe(false);
      expect(renderBlastRadius(plan)).toContain(
        `UNLISTED consumer in cluster-c: externalsecret ${namespace}/payments-es`,
      );
      const after = await kubeconfigFor('cluster-b', base).makeApiClient(CoreV1Api).listNamespacedSecret({ namespace });
      expect(after.items.length).toBe(before.items.length);
    } finally {
      for (const c of contexts) await purgeNamespace(kubeconfigFor(c, base), namespace).catch(() => undefined);
    }
  });
});
