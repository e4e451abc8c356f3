import { describe, expect, it } from 'vitest';
import type { ClusterTarget } from '../core/playbook/schema';
import { rulesFor } from './rbac';

const base = { name: 'a', namespace: 'ns', secretName: 's', workloads: [] } as unknown as ClusterTarget;
const target = (extra: Partial<ClusterTarget>) => ({ ...base, ...extra });

describe('rulesFor', () => {
  it.each<[string, ClusterTarget, string[]]>([
    ['push writes its one Secret', target({ delivery: 'push' }), ['/secrets[s] get,watch,patch,create']],
    ['observe only reads it', target({ delivery: 'observe' }), ['/secrets[s] get,watch']],
    [
      'eso with named ExternalSecrets',
      target({ delivery: 'eso', externalSecrets: ['es1'] }),
      ['/secrets[s] get,watch', 'external-secrets.io/externalsecrets[es1] get,watch,patch'],
    ],
    [
      'eso discovering ExternalSecrets may list them',
      target({ delivery: 'eso' }),
      ['/secrets[s] get,watch', 'external-secrets.io/externalsecrets[*] get,list,watch,patch'],
    ],
    [
      'workloads are patched by name',
      target({
        delivery: 'observe',
        workloads: [
          { kind: 'Deployment', name: 'd' },
          { kind: 'StatefulSet', name: 'st' },
        ],
      }),
      ['/secrets[s] get,watch', 'apps/deployments[d] get,watch,patch', 'apps/statefulsets[st] get,watch,patch'],
    ],
  ])('%s', (_name, c, expected) => {
    const text = rulesFor(c).map(
      (r) =>
        `${r.apiGroups?.join(',')}/${r.resources?.join(',')}[${r.resourceNames?.join(',') ?? '*'}] ${r.verbs.join(',')}`,
    );
    expect(text).toEqual(expected);
  });
  it('never grants list on Secrets', () => {
    for (const delivery of ['push', 'eso', 'observe'] as const)
      expect(
        rulesFor(target({ delivery })).some((r) => r.resources?.includes('secrets') && r.verbs.includes('list')),
      ).toBe(false);
  });
});
