import { describe, expect, it } from 'vitest';
import type { ClusterTarget } from '../../playbook/schema';
import { clustersRule } from './clusters';
import { ruleContext } from './test-context';

const allow = {
  clusters: [
    { context: 'prod-a', namespaces: ['team'] },
    { context: 'prod-a', namespaces: ['team-canary'] },
  ],
};
const cluster = (c: Partial<ClusterTarget>) => ({ delivery: 'push' as const, secretName: 's', ...c }) as ClusterTarget;
const refusals = (clusters: ClusterTarget[]) => clustersRule(ruleContext(allow, { clusters }));

describe('clusters rule', () => {
  it('allows listed namespaces of listed contexts, by context or by name', () => {
    expect(
      refusals([
        cluster({ name: 'prod-a', namespace: 'team' }),
        cluster({ name: 'a', context: 'prod-a', namespace: 'team-canary' }),
      ]),
    ).toEqual([]);
    expect(refusals([])).toEqual([]);
  });

  it('refuses an unlisted context at the field that names it, and an unlisted namespace', () => {
    expect(
      refusals([
        cluster({ name: 'prod-b', namespace: 'team' }),
        cluster({ name: 'a', context: 'prod-c', namespace: 'team' }),
        cluster({ name: 'prod-a', namespace: 'kube-system' }),
      ]),
    ).toEqual([
      {
        path: 'spec.clusters[0].name',
        rule: 'tenants[team].allow.clusters',
        message: "cluster context 'prod-b' is not one the tenant may use",
        fix: 'add { context: prod-b, namespaces: [team] } to allow.clusters under tenant team',
      },
      {
        path: 'spec.clusters[1].context',
        rule: 'tenants[team].allow.clusters',
        message: "cluster context 'prod-c' is not one the tenant may use",
        fix: 'add { context: prod-c, namespaces: [team] } to allow.clusters under tenant team',
      },
      {
        path: 'spec.clusters[2].namespace',
        rule: 'tenants[team].allow.clusters',
        message: "namespace 'kube-system' in context 'prod-a' is not one the tenant may use",
        fix: 'add kube-system to the namespaces of context prod-a in allow.clusters under tenant team',
      },
    ]);
  });
});
