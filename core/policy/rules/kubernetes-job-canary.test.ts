import { describe, expect, it } from 'vitest';
import type { Canary } from '../../playbook/schema';
import { kubernetesJobCanaryRefusals } from './kubernetes-job-canary';
import { ruleContext } from './test-context';

const allow = {
  canaries: {
    kubernetesJob: {
      contexts: ['prod-a'],
      namespaces: ['team'],
      images: ['registry.example.com/team/*', 'busybox:1.36'],
      serviceAccounts: ['team-canary'],
    },
  },
};
type Job = Extract<Canary, { type: 'kubernetes-job' }>;
function refusals(job: Partial<Job>) {
  const ctx = ruleContext(allow, {
    canaries: [
      {
        type: 'kubernetes-job',
        name: 'k',
        cluster: 'prod-a',
        namespace: 'team',
        image: 'busybox:1.36',
        command: ['t'],
        ...job,
      },
    ],
  });
  const c = ctx.playbook.spec.canaries[0];
  if (c?.type !== 'kubernetes-job') throw new Error('not a kubernetes-job canary');
  return kubernetesJobCanaryRefusals(ctx, c, 'spec.canaries[0]');
}

describe('kubernetes-job canaries', () => {
  it('run in listed contexts and namespaces, with listed images (exact or prefix*) and service accounts', () => {
    expect(refusals({})).toEqual([]);
    expect(refusals({ image: 'registry.example.com/team/canary:2', serviceAccountName: 'team-canary' })).toEqual([]);
  });

  it('refuse each of context, namespace, image and service account not listed', () => {
    const field = (name: string, list: string, message: string, value: string) => ({
      path: `spec.canaries[0].${name}`,
      rule: `tenants[team].allow.canaries.kubernetesJob.${list}`,
      message,
      fix: `add ${value} to allow.canaries.kubernetesJob.${list} under tenant team`,
    });
    expect(
      refusals({ cluster: 'prod-b', namespace: 'kube-system', image: 'busybox:latest', serviceAccountName: 'admin' }),
    ).toEqual([
      field('cluster', 'contexts', "context 'prod-b' is not one the tenant's canary Jobs may run in", 'prod-b'),
      field(
        'namespace',
        'namespaces',
        "namespace 'kube-system' is not one the tenant's canary Jobs may run in",
        'kube-system',
      ),
      field('image', 'images', "image 'busybox:latest' is not one the tenant's canary Jobs may run", 'busybox:latest'),
      field(
        'serviceAccountName',
        'serviceAccounts',
        "service account 'admin' is not one the tenant's canary Jobs may use",
        'admin',
      ),
    ]);
  });
});
