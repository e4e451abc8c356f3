import type { V1PolicyRule } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ClusterTarget } from '../core/playbook/schema';
import { playbookSchema } from '../core/playbook/schema';
import { rbacFor, rulesFor } from './rbac';

const base = { name: 'a', namespace: 'ns', secretName: 's', workloads: [] } as unknown as ClusterTarget;
// Consumer lookup (pods and their owning ReplicaSets) is the same for every target.
const isConsumerLookup = (r: V1PolicyRule) =>
  !r.resourceNames &&
  (r.resources?.includes('pods') || r.resources?.includes('pods/log') || r.resources?.includes('replicasets'));
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
    const text = rulesFor(c)
      .filter((r) => !isConsumerLookup(r))
      .map(
        (r) =>
          `${r.apiGroups?.join(',')}/${r.resources?.join(',')}[${r.resourceNames?.join(',') ?? '*'}] ${r.verbs.join(',')}`,
      );
    expect(text).toEqual(expected);
  });
  it('lists pods and ReplicaSets to find consumers, touches pods and reads opted-in logs for the gate, nothing else', () => {
    const lookups = rulesFor(target({ delivery: 'push' })).filter((r) => !r.resourceNames);
    expect(lookups).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ]);
  });
  it('grants nothing for the gate when the playbook turns it off', () => {
    const lookups = rulesFor(target({ delivery: 'push' }), false).filter((r) => !r.resourceNames);
    expect(lookups).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'] },
    ]);
  });
  it('never grants list on Secrets', () => {
    for (const delivery of ['push', 'eso', 'observe'] as const)
      expect(
        rulesFor(target({ delivery })).some((r) => r.resources?.includes('secrets') && r.verbs.includes('list')),
      ).toBe(false);
  });
});

describe('rbacFor', () => {
  const subject = { serviceAccount: 'rotor', namespace: 'rotor-system' };
  const playbook = (enabled: boolean) =>
    playbookSchema.parse({
      apiVersion: 'rotor.dev/v1',
      kind: 'RotationPlaybook',
      metadata: { name: 'p' },
      spec: {
        secret: { name: 'p', store: { type: 'aws', secretId: 'p' } },
        credential: { kind: 'random' },
        clusters: [{ name: 'a', delivery: 'push', namespace: 'ns', secretName: 's' }],
        consumerGate: { enabled },
      },
    });
  it('ships the pod patch policy, bound to the worker identity only, whenever the gate patches pods', () => {
    const [a] = rbacFor(playbook(true), subject);
    const policy = a?.podPatchPolicy;
    expect(policy?.policy.metadata?.name).toBe('rotor-pod-resync-only.rotor-system.rotor');
    expect(policy?.binding.spec?.policyName).toBe(policy?.policy.metadata?.name);
    expect(policy?.binding.spec?.validationActions).toEqual(['Deny']);
    expect(policy?.policy.spec?.matchConditions).toEqual([
      { name: 'rotor-identity', expression: "request.userInfo.username == 'system:serviceaccount:rotor-system:rotor'" },
    ]);
  });
  it('ships none when the gate is off (no pod patch granted)', () => {
    expect(rbacFor(playbook(false), subject)[0]?.podPatchPolicy).toBeUndefined();
  });
  it('lets a jwt-signing-key read and replace its JWKS ConfigMap by name, and create ConfigMaps, in each namespace', () => {
    const jwt = playbookSchema.parse({
      ...playbook(true),
      spec: {
        ...playbook(true).spec,
        credential: { kind: 'jwt-signing-key', maxTokenLifetime: '1m', jwks: { configMap: 'auth-jwks' } },
        soak: '1m',
      },
    });
    const configMaps = rbacFor(jwt, subject)[0]?.role.rules?.filter((r) => r.resources?.includes('configmaps'));
    expect(configMaps).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['auth-jwks'], verbs: ['get', 'update'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    ]);
    expect(rbacFor(playbook(true), subject)[0]?.role.rules?.some((r) => r.resources?.includes('configmaps'))).toBe(
      false,
    );
  });
});
