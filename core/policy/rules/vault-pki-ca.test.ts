import { describe, expect, it } from 'vitest';
import { vaultPkiCaRefusals, vaultPkiHandshakeCanaryRefusals } from './vault-pki-ca';
import { ruleContext } from './test-context';

const allow = {
  clusters: [{ context: 'cluster-a', namespaces: ['payments'] }],
  vaultPkiCa: [
    {
      mount: 'pki-rollover',
      issuerPrefixes: ['payments-ca'],
      roles: ['payments-leaf'],
      bundles: [{ context: 'cluster-a', namespaces: ['payments'], configMaps: ['payments-ca'] }],
    },
  ],
};
const credential = (o: Record<string, string> = {}) => ({
  kind: 'vault-pki-ca-rollover' as const,
  mount: o['mount'] ?? 'pki-rollover',
  issuerPrefix: o['issuerPrefix'] ?? 'payments-ca',
  commonName: 'Payments CA',
  leafRole: o['leafRole'] ?? 'payments-leaf',
  bundle: { configMap: o['configMap'] ?? 'payments-ca' },
});
const cluster = (namespace = 'payments') => ({
  name: 'cluster-a',
  delivery: 'push' as const,
  namespace,
  secretName: 'payments-ca',
});

/** The refusals of a playbook as an attacker in the payments tenant would write it. */
function refusals(o: Record<string, string> = {}, namespace?: string) {
  const ctx = ruleContext(allow, { credential: credential(o), clusters: [cluster(namespace)] });
  const cred = ctx.playbook.spec.credential;
  if (cred.kind !== 'vault-pki-ca-rollover') throw new Error('not a CA rollover');
  return vaultPkiCaRefusals(ctx, cred);
}

describe('vault-pki-ca-rollover', () => {
  it("admits the tenant's own mount, prefix, role and bundle", () => {
    expect(refusals()).toEqual([]);
  });

  it("refuses another mount (the leaf kind's `pki`) outright, naming the field and the grant to add", () => {
    expect(refusals({ mount: 'pki' })).toEqual([
      {
        path: 'spec.credential.mount',
        rule: 'tenants[team].allow.vaultPkiCa',
        message: "the vault-pki-ca-rollover credential uses PKI mount 'pki', which is not one the tenant may use",
        fix: 'add { mount: pki, issuerPrefixes: […], roles: […], bundles: […] } to allow.vaultPkiCa under tenant team',
      },
    ]);
  });

  it("refuses another team's issuer prefix, role and bundle ConfigMap, each at its own field", () => {
    expect(
      refusals({ issuerPrefix: 'orders-ca', leafRole: 'orders-leaf', configMap: 'orders-ca' }).map((r) => [
        r.path,
        r.message,
      ]),
    ).toEqual([
      ['spec.credential.issuerPrefix', "issuer prefix 'orders-ca' in mount pki-rollover is not one the tenant may use"],
      [
        'spec.credential.leafRole',
        "PKI role 'orders-leaf' in mount pki-rollover is not one the tenant may issue through",
      ],
      [
        'spec.clusters[0].namespace',
        "trust bundle ConfigMap payments/orders-ca in context 'cluster-a' (cluster cluster-a, spec.credential.bundle.configMap) is not one the tenant may publish to",
      ],
    ]);
    expect(refusals({}, 'orders').map((r) => r.path)).toEqual(['spec.clusters[0].namespace']);
  });

  it('checks targets as the steps use them: crafted bundle targets apart from spec.clusters are refused too', () => {
    const ctx = ruleContext(allow, { credential: credential(), clusters: [cluster()] });
    const cred = ctx.playbook.spec.credential;
    if (cred.kind !== 'vault-pki-ca-rollover') throw new Error('not a CA rollover');
    const crafted = {
      ...cred,
      bundle: { ...cred.bundle, targets: [{ cluster: 'z', context: 'cluster-c', namespace: 'orders' }] },
    };
    expect(vaultPkiCaRefusals(ctx, crafted).map((r) => r.path)).toEqual(['spec.credential.bundle.targets']);
  });

  it('the playbook reader fills bundle targets from spec.clusters, replacing what was written', () => {
    const ctx = ruleContext(allow, {
      credential: {
        ...credential(),
        bundle: { configMap: 'payments-ca', targets: [{ cluster: 'x', context: 'cluster-c', namespace: 'orders' }] },
      },
      clusters: [cluster()],
    });
    const cred = ctx.playbook.spec.credential;
    expect(cred.kind === 'vault-pki-ca-rollover' ? cred.bundle.targets : undefined).toEqual([
      { cluster: 'cluster-a', context: 'cluster-a', namespace: 'payments' },
    ]);
  });
});

describe('vault-pki-handshake canaries', () => {
  const canary = (o: { mount?: string; role?: string; cluster?: string; configMap?: string } = {}) => {
    const ctx = ruleContext(allow, {
      canaries: [
        {
          type: 'vault-pki-handshake',
          name: 'tls',
          mount: o.mount ?? 'pki-rollover',
          role: o.role ?? 'payments-leaf',
          cluster: o.cluster ?? 'cluster-a',
          namespace: 'payments',
          configMap: o.configMap ?? 'payments-ca',
        },
      ],
    });
    const c = ctx.playbook.spec.canaries[0];
    if (c?.type !== 'vault-pki-handshake') throw new Error('not a vault-pki-handshake canary');
    return vaultPkiHandshakeCanaryRefusals(ctx, c, 'spec.canaries[0]');
  };
  it("issue through the tenant's roles and read the tenant's bundles only", () => {
    expect(canary()).toEqual([]);
    expect(canary({ mount: 'pki' }).map((r) => r.path)).toEqual(['spec.canaries[0].mount']);
    expect(canary({ role: 'orders-leaf', cluster: 'cluster-c' }).map((r) => [r.path, r.message])).toEqual([
      [
        'spec.canaries[0].role',
        "vault-pki-handshake canary 'tls' would issue through PKI role 'orders-leaf' in mount pki-rollover, which the tenant may not",
      ],
      [
        'spec.canaries[0].configMap',
        "vault-pki-handshake canary 'tls' would read ConfigMap payments/payments-ca in context 'cluster-c', which is not one of the tenant's trust bundles",
      ],
    ]);
  });
});
