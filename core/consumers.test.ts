import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { consumerModes, findConsumers, unrolledRestartOnly } from './consumers';

const pod = (name: string, spec: V1Pod['spec'], owner?: { kind: string; name: string }): V1Pod => ({
  metadata: {
    name,
    ...(owner ? { ownerReferences: [{ ...owner, apiVersion: 'apps/v1', uid: 'u', controller: true }] } : {}),
  },
  spec,
});
const c = (extra: object) => ({ name: 'app', image: 'i', ...extra });

describe('consumers of a Secret', () => {
  it('classifies volume, projected, env, envFrom and subPath reads, ignoring other Secrets', () => {
    const p = pod('p', {
      volumes: [
        { name: 'v', secret: { secretName: 'db' } },
        { name: 'pr', projected: { sources: [{ secret: { name: 'db' } }] } },
        { name: 'other', secret: { secretName: 'unrelated' } },
      ],
      initContainers: [c({ envFrom: [{ secretRef: { name: 'db' } }] })],
      containers: [
        c({
          env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'value' } } }],
          volumeMounts: [
            { name: 'v', mountPath: '/v' },
            { name: 'pr', mountPath: '/p' },
            { name: 'other', mountPath: '/o' },
          ],
        }),
        c({ name: 'side', volumeMounts: [{ name: 'v', mountPath: '/f', subPath: 'value' }] }),
      ],
    });
    expect(consumerModes(p, 'db')).toEqual(['env', 'envFrom', 'projected', 'subPath', 'volume']);
    expect(consumerModes(p, 'nothing')).toEqual([]);
  });

  it('resolves ReplicaSets to Deployments and flags unlisted restart-only workloads with a fix', () => {
    const pods = [
      pod(
        'api-1',
        { containers: [c({ envFrom: [{ secretRef: { name: 'db' } }] })] },
        { kind: 'ReplicaSet', name: 'api-7d' },
      ),
      pod(
        'web-0',
        {
          volumes: [{ name: 'v', secret: { secretName: 'db' } }],
          containers: [c({ volumeMounts: [{ name: 'v', mountPath: '/s' }] })],
        },
        { kind: 'StatefulSet', name: 'web' },
      ),
      pod(
        'job-x',
        { containers: [c({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }] })] },
        { kind: 'Job', name: 'migrate' },
      ),
      pod('bare', { containers: [c({})] }),
    ];
    const consumers = findConsumers(pods, 'db', new Map([['api-7d', 'api']]));
    expect(consumers).toEqual([
      { pod: 'api-1', workload: { kind: 'Deployment', name: 'api' }, modes: ['envFrom'], restartOnly: true },
      { pod: 'job-x', workload: { kind: 'Job', name: 'migrate' }, modes: ['env'], restartOnly: true },
      { pod: 'web-0', workload: { kind: 'StatefulSet', name: 'web' }, modes: ['volume'], restartOnly: false },
    ]);
    const where = { cluster: 'cluster-a', namespace: 'pay', secretName: 'db' };
    expect(unrolledRestartOnly(consumers, [{ kind: 'Deployment', name: 'api' }], where)).toEqual([
      'cluster-a: pod pay/job-x (Job migrate) reads Secret db through env, which only a restart refreshes; Job migrate cannot be rolled out by rotor: read the Secret through a volume instead',
    ]);
    expect(unrolledRestartOnly(consumers, [], where)[0]).toBe(
      'cluster-a: pod pay/api-1 (Deployment api) reads Secret db through envFrom, which only a restart refreshes; add { kind: Deployment, name: api } to spec.clusters[cluster-a].workloads',
    );
  });
});
