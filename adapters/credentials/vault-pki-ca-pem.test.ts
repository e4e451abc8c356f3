import { describe, expect, it } from 'vitest';
import { ErrorTypes } from '../../core/failures';
import {
  bundleCerts,
  bundleText,
  firstCert,
  issuedBy,
  parseCaCert,
  vaultSerial,
  withCert,
  withoutCert,
} from './vault-pki-ca-pem';

// Fixtures made once with openssl (P-256, valid 100 years): two self-signed CAs and a leaf of CA a.
// Certificates only: public, and their keys were thrown away.
const caA = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIUKqo4jXUVhmnt+Y8kPJEyWE9UqqYwCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMZml4dHVyZSBDQSBhMCAXDTI2MTIwMzA5NDQ0N1oYDzIxMjYx
MTA5MDk0NDQ3WjAXMRUwEwYDVQQDDAxmaXh0dXJlIENBIGEwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAQLsUBz4Vh8QieuSyhaAV97DxzIVslSKmhNw55lva7EUmzO
mx0AUbEdGg3KmBnXx64JwKJH5GIBhmroEGDUxGuAo1MwUTAdBgNVHQ4EFgQUQLTP
sOcuniTv7RWYRL8dKeyUBv8wHwYDVR0jBBgwFoAUQLTPsOcuniTv7RWYRL8dKeyU
Bv8wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiA059U1gMUtumpD
R7pfubrFL2O0ZrWci9c7LPCzLukNWgIhAMNFX7+1/ukkNbp9cmtVm9di8wTQj0Ds
cZYH18GQSvGV
-----END CERTIFICATE-----`;
const caB = `-----BEGIN CERTIFICATE-----
MIIBhDCCASugAwIBAgIUYB1lUOO4wSPEt6tTPL4jN61KjjswCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMZml4dHVyZSBDQSBiMCAXDTI2MTIwMzA5NDQ0N1oYDzIxMjYx
MTA5MDk0NDQ3WjAXMRUwEwYDVQQDDAxmaXh0dXJlIENBIGIwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASlk7O0BRjh1uD2YBECeyRqRcUduAdeLW3WyG+hC9DwwnJw
eGuqx59w4rc7jfRYVXMzersYlPpceN3o6zAC643Go1MwUTAdBgNVHQ4EFgQU0yjH
XQcHFmPCNvLQWz9XaRbgS+EwHwYDVR0jBBgwFoAU0yjHXQcHFmPCNvLQWz9XaRbg
S+EwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiA6FhlZgxwemI5m
el4UScVj7LIUK8URM/oJTjDWxTL4SgIgdtl1ZPKZ7ApnMaTM9qv2XZb60jI9wYq6
FJdFeWmxo4w=
-----END CERTIFICATE-----`;
const leafOfA = `-----BEGIN CERTIFICATE-----
MIIBKjCB0QIUc0ECjxQwqpZ/Z6hRWYPjZQqlHiAwCgYIKoZIzj0EAwIwFzEVMBMG
A1UEAwwMZml4dHVyZSBDQSBhMCAXDTI2MTIwMzA5NDQ0OFoYDzIxMjYxMTA5MDk0
NDQ4WjAXMRUwEwYDVQQDDAxsZWFmLmZpeHR1cmUwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQMeJP9z+F9v40xsH9tqCyChyXsz8jWr772wR88B6lriymt+DGFzkDU
huW3wMYVGVQul17BpT1fdeq9lVIi7nzwMAoGCCqGSM49BAMCA0gAMEUCIAYY5fxN
brDfsvY/kXnMU+/ar6QkGaYvb8bWZxEr7a6vAiEA/DTt0zV03fy2yu1Bi82bz0+i
6WdahWPRQ2Grj5hK+oY=
-----END CERTIFICATE-----`;

describe('CA certificates and trust bundles', () => {
  it('parses one CA certificate, with a sha256 fingerprint and the serial as Vault writes it', () => {
    const a = parseCaCert(`\n${caA}\n`, 'the current value');
    expect(a.fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(a.serial).toMatch(/^([0-9a-f]{2}:)*[0-9a-f]{2}$/);
    expect(a.pem).toBe(caA);
  });

  it('refuses anything but exactly one CA certificate, naming what was wrong and never the text', () => {
    const refusal = (text: string) => {
      try {
        parseCaCert(text, 'the pending value');
      } catch (e) {
        return { type: (e as { type?: string }).type, message: (e as Error).message };
      }
      return undefined;
    };
    expect(refusal('not a certificate')).toEqual({
      type: ErrorTypes.invalidInput,
      message:
        "the pending value must be exactly one PEM certificate (a vault-pki-ca-rollover stores its CA's certificate); found 0",
    });
    expect(refusal(`${caA}\n${caB}`)?.message).toContain('found 2');
    expect(refusal(leafOfA)?.message).toMatch(/^the pending value \(sha256:[0-9a-f]{16}\) is not a CA certificate$/);
  });

  it('adds a certificate once, removes only it, and keeps certificates it did not write in their order', () => {
    const a = parseCaCert(caA, 'a');
    const b = parseCaCert(caB, 'b');
    const fps = (text: string) => bundleCerts(text).map((c) => c.fingerprint);
    const both = bundleText(withCert(withCert(bundleCerts(caB), a), a));
    expect(fps(both)).toEqual([b.fingerprint, a.fingerprint]);
    expect(fps(bundleText(withoutCert(bundleCerts(both), b)))).toEqual([a.fingerprint]);
    expect(bundleCerts(undefined)).toEqual([]);
    // A damaged block trusts nothing and is skipped; the readable ones stay.
    expect(fps(`${caA.replace(/[A-Za-z]{8}\n/, '!!!!!!!!\n')}\n${caB}`)).toEqual([b.fingerprint]);
  });

  it('tells which CA signed a leaf', () => {
    const leaf = firstCert(`${leafOfA}\n${caA}`);
    expect(leaf && issuedBy(leaf, parseCaCert(caA, 'a'))).toBe(true);
    expect(leaf && issuedBy(leaf, parseCaCert(caB, 'b'))).toBe(false);
  });

  it("writes serials as Vault does: lowercase pairs joined by ':'", () => {
    expect(vaultSerial('41D73E')).toBe('41:d7:3e');
    expect(vaultSerial('1D73E')).toBe('01:d7:3e');
  });
});
