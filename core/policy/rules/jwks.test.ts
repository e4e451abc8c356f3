import { describe, expect, it } from 'vitest';
import { jwtSigningKeyRefusals, jwtVerifyCanaryRefusals } from './jwks';
import { ruleContext } from './test-context';

const allow = {
  clusters: [{ context: 'cluster-a', namespaces: ['auth'] }],
  jwks: [{ context: 'cluster-a', namespaces: ['auth'], configMaps: ['auth-jwks'] }],
};
const spec = (configMap: string, namespace = 'auth') => ({
  credential: { kind: 'jwt-signing-key' as const, maxTokenLifetime: '10m', jwks: { configMap } },
  soak: '10m',
  clusters: [
    { name: 'cluster-a', delivery: 'push' as const, namespace, secretName: 'signer' },
    { name: 'b', context: 'cluster-b', delivery: 'push' as const, namespace: 'auth', secretName: 'signer' },
  ],
});

function refusals(configMap: string, namespace?: string, tenantAllow = allow) {
  const ctx = ruleContext(tenantAllow, spec(configMap, namespace));
  const cred = ctx.playbook.spec.credential;
  if (cred.kind !== 'jwt-signing-key') throw new Error('not a jwt credential');
  return jwtSigningKeyRefusals(ctx, cred);
}

describe('jwt-signing-key', () => {
  it('allows only listed contexts, namespaces and ConfigMap names, one refusal per target naming its cluster path', () => {
    const withB = {
      ...allow,
      jwks: [...allow.jwks, { context: 'cluster-b', namespaces: ['auth'], configMaps: ['auth-jwks'] }],
    };
    expect(refusals('auth-jwks', undefined, withB)).toEqual([]);
    expect(refusals('auth-jwks')).toEqual([
      {
        path: 'spec.clusters[1].namespace',
        rule: 'tenants[team].allow.jwks',
        message:
          "JWKS ConfigMap auth/auth-jwks in context 'cluster-b' (cluster b, spec.credential.jwks.configMap) is not one the tenant may publish to",
        fix: 'add { context: cluster-b, namespaces: [auth], configMaps: [auth-jwks] } to allow.jwks under tenant team',
      },
    ]);
    expect(refusals('victim-jwks', 'auth', withB).map((r) => r.path)).toEqual([
      'spec.clusters[0].namespace',
      'spec.clusters[1].namespace',
    ]);
    expect(refusals('auth-jwks', 'victim', withB).map((r) => r.message)).toEqual([
      "JWKS ConfigMap victim/auth-jwks in context 'cluster-a' (cluster cluster-a, spec.credential.jwks.configMap) is not one the tenant may publish to",
    ]);
  });

  it('checks targets as the steps use them: crafted targets apart from spec.clusters are refused too', () => {
    const ctx = ruleContext(allow, spec('auth-jwks'));
    const cred = ctx.playbook.spec.credential;
    if (cred.kind !== 'jwt-signing-key') throw new Error('not a jwt credential');
    const crafted = {
      ...cred,
      jwks: { ...cred.jwks, targets: [{ cluster: 'z', context: 'cluster-a', namespace: 'other' }] },
    };
    expect(jwtSigningKeyRefusals(ctx, crafted).map((r) => r.path)).toEqual(['spec.credential.jwks.targets']);
  });
});

describe('jwt-verify canaries', () => {
  const canary = (configMap: string, cluster = 'cluster-a') => {
    const ctx = ruleContext(allow, {
      canaries: [{ type: 'jwt-verify', name: 'verify', cluster, namespace: 'auth', configMap }],
    });
    const c = ctx.playbook.spec.canaries[0];
    if (c?.type !== 'jwt-verify') throw new Error('not a jwt-verify canary');
    return jwtVerifyCanaryRefusals(ctx, c, 'spec.canaries[0]');
  };
  it("read only the tenant's JWKS ConfigMaps", () => {
    expect(canary('auth-jwks')).toEqual([]);
    expect(canary('auth-jwks', 'cluster-b')).toEqual([
      {
        path: 'spec.canaries[0].configMap',
        rule: 'tenants[team].allow.jwks',
        message:
          "jwt-verify canary 'verify' would read ConfigMap auth/auth-jwks in context 'cluster-b', which is not one of the tenant's JWKS",
        fix: 'add { context: cluster-b, namespaces: [auth], configMaps: [auth-jwks] } to allow.jwks under tenant team',
      },
    ]);
  });
});
