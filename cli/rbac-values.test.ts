import { describe, expect, it } from 'vitest';
import { validatePlaybook } from '../core/playbook/validate';
import { rbacFor } from '../inspect/rbac';
import { chartRbacValues } from './rbac-values';

const playbook = (secret: string, gate: boolean) => {
  const r = validatePlaybook(
    {
      apiVersion: 'rotor.dev/v1',
      kind: 'RotationPlaybook',
      metadata: { name: secret },
      spec: {
        secret: { name: secret, store: { type: 'vault', mount: 'secret', path: `apps/${secret}`, key: 'value' } },
        credential: { kind: 'random', length: 32 },
        clusters: [
          { name: 'east', context: 'ctx-east', delivery: 'push', namespace: 'apps', secretName: secret },
          { name: 'west', delivery: 'push', namespace: 'apps', secretName: secret },
        ],
        consumerGate: { enabled: gate },
      },
    },
    `${secret}.yaml`,
  );
  if (!('playbook' in r)) throw new Error(JSON.stringify(r.problems));
  return r.playbook;
};

const subject = { serviceAccount: 'rotor', namespace: 'rotor-system' };

describe('chartRbacValues', () => {
  it("keeps only the chart's cluster (by name or context), one Role per playbook, one admission policy", () => {
    const all = [...rbacFor(playbook('a', true), subject), ...rbacFor(playbook('b', true), subject)];
    const values = chartRbacValues(all, 'ctx-east');
    expect(values.rbac.roles.map((r) => `${r.namespace}/${r.name}`)).toEqual(['apps/rotor-a', 'apps/rotor-b']);
    expect(values.rbac.roles[0]?.rules).toEqual(all[0]?.role.rules);
    expect(values.rbac.admissionPolicies).toHaveLength(1);
    expect(chartRbacValues(all, 'east')).toEqual(values);
  });

  it('has no admission policy without the consumer gate', () => {
    expect(chartRbacValues(rbacFor(playbook('a', false), subject), 'west').rbac.admissionPolicies).toEqual([]);
  });

  it('names the clusters there are when none matches', () => {
    expect(() => chartRbacValues(rbacFor(playbook('a', true), subject), 'north')).toThrow(
      /--cluster north: no playbook delivers to it \(clusters and contexts: east, ctx-east, west\)/,
    );
  });
});
