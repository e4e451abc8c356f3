import { describe, expect, it } from 'vitest';
import { playbookSchema } from '../playbook/schema';
import { evaluatePolicy, policyRules, tenantFor } from './evaluate';
import { canariesRule } from './rules/canaries';
import { clustersRule } from './rules/clusters';
import { credentialRule } from './rules/credential';
import { storeRule } from './rules/store';
import { policySchema } from './schema';

const policy = (allowAll = false) =>
  policySchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotorPolicy',
    allowAll,
    tenants: [{ name: 'team', match: { labels: { team: 'team' } }, allow: {} }],
  });
const playbook = (labels: Record<string, string>) =>
  playbookSchema.parse({
    apiVersion: 'rotor.dev/v1',
    kind: 'RotationPlaybook',
    metadata: { name: 'p', labels },
    spec: {
      secret: { name: 'p', store: { type: 'vault', path: 'apps/team/api' } },
      credential: { kind: 'vault-database-dynamic-role', role: 'r', connection: 'c' },
      clusters: [{ name: 'prod', delivery: 'push', namespace: 'team', secretName: 's' }],
      canaries: [{ type: 'command', name: 'c', command: ['check'] }],
    },
  });
const ctx = { playbookFile: 'p.yaml', requestedBy: 'alice@laptop' };

describe('evaluatePolicy', () => {
  it('runs the rules in field order and concatenates their refusals', () => {
    expect(policyRules).toEqual([storeRule, clustersRule, credentialRule, canariesRule]);
    expect(evaluatePolicy(policy(), playbook({ team: 'team' }), ctx).map((r) => `${r.path} ${r.rule}`)).toEqual([
      'spec.secret.store.path tenants[team].allow.vault',
      'spec.clusters[0].name tenants[team].allow.clusters',
      'spec.credential.role tenants[team].allow.vaultDatabaseDynamic',
      'spec.canaries[0].type tenants[team].allow.canaries.command',
    ]);
  });

  it('refuses once when no tenant matches, and never under allowAll', () => {
    expect(evaluatePolicy(policy(), playbook({ team: 'other' }), ctx)).toEqual([
      {
        path: 'metadata',
        rule: 'tenants[].match',
        message:
          'no tenant of the policy matches this playbook (file p.yaml, labels {"team":"other"}, requester alice@laptop)',
        fix: 'add a tenant whose match selects this playbook',
      },
    ]);
    expect(evaluatePolicy(policy(true), playbook({ team: 'other' }), ctx)).toEqual([]);
  });

  it('selects the tenant of a Kubernetes request by its namespace alone', () => {
    const p = policySchema.parse({
      apiVersion: 'rotor.dev/v1',
      kind: 'RotorPolicy',
      tenants: [
        { name: 'by-labels', match: { labels: { team: 'orders' } }, allow: {} },
        { name: 'orders', match: { namespaces: ['orders'] }, allow: {} },
        { name: 'payments', match: { namespaces: ['payments'], labels: { team: 'payments' } }, allow: {} },
      ],
    });
    const tenant = (labels: Record<string, string>, namespace?: string) =>
      tenantFor(p, playbook(labels), { ...ctx, ...(namespace ? { namespace } : {}) })?.name;
    // The namespace decides; labels the author wrote cannot pick another tenant.
    expect(tenant({ team: 'orders' }, 'orders')).toBe('orders');
    expect(tenant({ team: 'payments' }, 'orders')).toBe('orders');
    expect(tenant({}, 'payments')).toBe('payments');
    expect(tenant({ team: 'orders' }, 'elsewhere')).toBeUndefined();
    // Without a namespace (the CLI), a tenant selected only by namespaces never matches.
    expect(tenant({ team: 'orders' })).toBe('by-labels');
    expect(tenant({ team: 'payments' })).toBe('payments');
    expect(tenant({})).toBeUndefined();
    expect(evaluatePolicy(p, playbook({}), { ...ctx, namespace: 'elsewhere' })[0]?.message).toContain(
      'namespace elsewhere',
    );
  });
});
