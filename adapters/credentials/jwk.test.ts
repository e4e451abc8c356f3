import { calculateJwkThumbprint } from 'jose';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ErrorTypes } from '../../core/failures';
import {
  generateSigningJwk,
  kidsOf,
  parseJwks,
  parsePrivateJwk,
  publicOf,
  signTestToken,
  verifyThrough,
  withKeys,
  withoutKid,
} from './jwk';

describe('JWT signing keys', () => {
  it.each(['EdDSA', 'ES256'] as const)(
    '%s: a new key has its RFC 7638 thumbprint as kid, signs tokens that verify through a JWKS of its public part only',
    async (alg) => {
      const key = await generateSigningJwk(alg);
      expect(key.alg).toBe(alg);
      expect(key.kty).toBe(alg === 'EdDSA' ? 'OKP' : 'EC');
      expect(key.kid).toBe(await calculateJwkThumbprint(publicOf(key)));
      expect(parsePrivateJwk(JSON.stringify(key), 'it')).toEqual(key);
      const pub = publicOf(key);
      expect('d' in pub).toBe(false);
      const other = await generateSigningJwk(alg);
      const token = await signTestToken(key);
      expect(await verifyThrough(token, { keys: [publicOf(other), pub] })).toEqual({ ok: true });
      expect(await verifyThrough(token, { keys: [publicOf(other)] })).toEqual({
        ok: false,
        noKey: true,
        message: 'no key in the JWKS matches its kid',
      });
    },
  );

  it('refuses a value that is not a private signing JWK, without quoting it', () => {
    const secretish = 'p4ssw0rd-not-a-key';
    const refused = (text: string) => {
      try {
        parsePrivateJwk(text, 'the current value');
      } catch (e) {
        expect(e).toBeInstanceOf(ApplicationFailure);
        expect((e as ApplicationFailure).type).toBe(ErrorTypes.invalidInput);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused(secretish)).toBe(
      'the current value is not a JSON private JWK (value not shown); a jwt-signing-key stores an Ed25519 or P-256 private JWK with kid and alg',
    );
    const rsa = JSON.stringify({ kty: 'RSA', n: secretish, e: 'AQAB', d: secretish, kid: 'k' });
    expect(refused(rsa)).toContain('is not an Ed25519 (OKP, EdDSA) or P-256 (EC, ES256) private JWK with kid');
    expect(refused(rsa)).not.toContain(secretish);
    const noD = JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k', alg: 'EdDSA' });
    expect(refused(noD)).toContain('d: must be a base64url string');
  });

  it('adds keys once, removes by kid, keeps keys it did not write', () => {
    const foreign = { kid: 'theirs', kty: 'RSA', n: 'x', e: 'AQAB' };
    const a = {
      kty: 'OKP' as const,
      crv: 'Ed25519' as const,
      x: 'aa',
      kid: 'a',
      alg: 'EdDSA' as const,
      use: 'sig' as const,
    };
    const b = { ...a, x: 'bb', kid: 'b' };
    const jwks = withKeys(withKeys({ keys: [foreign] }, [a, b]), [a]);
    expect(kidsOf(jwks)).toEqual(['theirs', 'a', 'b']);
    expect(kidsOf(withoutKid(jwks, 'a'))).toEqual(['theirs', 'b']);
    expect(withoutKid(jwks, 'absent')).toEqual(jwks);
  });

  it('reads a JWKS or says why it is none, naming where', () => {
    expect(parseJwks('{"keys":[]}', 'cm')).toEqual({ keys: [] });
    expect(() => parseJwks('nope', 'configmap ns/x')).toThrow('configmap ns/x is not JSON');
    expect(() => parseJwks('{"key":[]}', 'configmap ns/x')).toThrow('configmap ns/x is not a JWKS');
  });
});
