import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { judgeReaderIds, mountsConfigMap } from './verifiers';

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

describe('judgeReaderIds', () => {
  const reads = (v: string, key = 'jwks.json') => new Map([[key, v]]);
  it('passes a JWKS verifier only when every needed kid is read', () => {
    expect(judgeReaderIds(reads('old,new'), 'jwks.json', 'kid', ['old', 'new'])).toEqual({
      ok: true,
      why: 'reads the JWKS as published',
    });
    expect(judgeReaderIds(reads('old'), 'jwks.json', 'kid', ['old', 'new'])).toEqual({
      ok: false,
      why: 'jwks.json does not hold kid new yet',
    });
    expect(judgeReaderIds(new Map(), 'jwks.json', 'kid', ['old'])).toEqual({
      ok: false,
      why: 'does not report jwks.json',
    });
    expect(judgeReaderIds(reads(''), 'jwks.json', 'kid', ['old']).ok).toBe(false);
  });

  it('passes a trust-bundle reader only when it holds every needed CA fingerprint', () => {
    const [old, next] = ['sha256:0123456789abcdef', 'sha256:fedcba9876543210'];
    expect(judgeReaderIds(reads(`${old},${next}`, 'ca.crt'), 'ca.crt', 'CA', [old, next])).toEqual({
      ok: true,
      why: 'reads the trust bundle as published',
    });
    expect(judgeReaderIds(reads(old, 'ca.crt'), 'ca.crt', 'CA', [old, next])).toEqual({
      ok: false,
      why: `ca.crt does not hold CA ${next} yet`,
    });
    // The report of another key does not count.
    expect(judgeReaderIds(reads(`${old},${next}`), 'ca.crt', 'CA', [next]).ok).toBe(false);
  });
});
