import type { V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { automountsDefaultToken, consumeModes, secretConsumers } from './consumers';

const spec = (c: Partial<V1PodSpec['containers'][number]>, extra: Partial<V1PodSpec> = {}): V1PodSpec => ({
  containers: [{ name: 'app', ...c }],
  volumes: [
    { name: 'creds', secret: { secretName: 'db' } },
    { name: 'proj', projected: { sources: [{ secret: { name: 'db' } }] } },
    { name: 'other', secret: { secretName: 'other' } },
  ],
  ...extra,
});

describe('consumeModes', () => {
  it.each([
    ['volume mount', spec({ volumeMounts: [{ name: 'creds', mountPath: '/etc/creds' }] }), ['volume'], []],
    ['projected volume', spec({ volumeMounts: [{ name: 'proj', mountPath: '/p' }] }), ['volume'], []],
    [
      'subPath mount',
      spec({ volumeMounts: [{ name: 'creds', mountPath: '/etc/pw', subPath: 'password' }] }),
      ['subPath'],
      ['app'],
    ],
    [
      'env var',
      spec({ env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }),
      ['env'],
      ['app'],
    ],
    ['envFrom', spec({ envFrom: [{ secretRef: { name: 'db' } }] }), ['envFrom'], ['app']],
    [
      'another secret only',
      spec({ volumeMounts: [{ name: 'other', mountPath: '/o' }], envFrom: [{ secretRef: { name: 'other' } }] }),
      [],
      [],
    ],
  ])('%s', (_, s, modes, statics) => {
    expect(consumeModes(s, 'db')).toEqual({ modes, staticContainers: statics });
  });
});

describe('secretConsumers', () => {
  it('reports templates, skips controller-owned pods, defaults the service account', () => {
    const env = spec({ env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }] });
    const got = secretConsumers(
      [
        { kind: 'Deployment', name: 'api', namespace: 'app', spec: { ...env, serviceAccountName: 'api' } },
        { kind: 'Pod', name: 'api-123', namespace: 'app', spec: env, owned: true },
        { kind: 'CronJob', name: 'report', namespace: 'app', spec: env },
      ],
      'db',
    );
    expect(got.map((c) => `${c.source.kind}/${c.source.name} ${c.serviceAccount}`)).toEqual([
      'Deployment/api api',
      'CronJob/report default',
    ]);
  });
});

describe('automountsDefaultToken (heuristic)', () => {
  it.each([
    [{}, undefined, true],
    [{}, false, false],
    [{ automountServiceAccountToken: false }, undefined, false],
    [{ automountServiceAccountToken: true }, false, true],
    [{ serviceAccountName: 'api' }, undefined, false],
  ] as [Partial<V1PodSpec>, boolean | undefined, boolean][])(
    'pod %j, default SA automount %s → %s',
    (extra, sa, expected) => {
      expect(automountsDefaultToken(spec({}, extra), sa)).toBe(expected);
    },
  );
});
