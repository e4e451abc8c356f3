import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { judgeKids, mountsConfigMap } from './verifiers';

const pod = (volumes: NonNullable<V1Pod['spec']>['volumes']): V1Pod => ({ spec: { containers: [], volumes } });

describe('mountsConfigMap', () => {
  it('finds a configMap volume and a projected source, and nothing else', () => {
    expect(mountsConfigMap(pod([{ name: 'j', configMap: { name: 'auth-jwks' } }]), 'auth-jwks')).toBe(true);
    expect(
      mountsConfigMap(
        pod([{ name: 'p', projected: { sources: [{ secret: { name: 'x' } }, { configMap: { name: 'auth-jwks' } }] } }]),
        'auth-jwks',
      ),
    ).toBe(true);
    expect(mountsConfigMap(pod([{ name: 'j', configMap: { name: 'other' } }]), 'auth-jwks')).toBe(false);
    expect(mountsConfigMap(pod([{ name: 's', secret: { secretName: 'auth-jwks' } }]), 'auth-jwks')).toBe(false);
    expect(mountsConfigMap({}, 'auth-jwks')).toBe(false);
  });
});

describe('judgeKids', () => {
  const reads = (v: string) => new Map([['jwks.json', v]]);
  it('passes only when every needed kid is read', () => {
    expect(judgeKids(reads('old,new'), 'jwks.json', ['old', 'new']).ok).toBe(true);
    expect(judgeKids(reads('old'), 'jwks.json', ['old', 'new'])).toEqual({
      ok: false,
      why: 'jwks.json does not hold kid new yet',
    });
    expect(judgeKids(new Map(), 'jwks.json', ['old'])).toEqual({ ok: false, why: 'does not report jwks.json' });
    expect(judgeKids(reads(''), 'jwks.json', ['old']).ok).toBe(false);
  });
});
