import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { BasicConstraintsExtension, SubjectAlternativeNameExtension, X509CertificateGenerator } from '@peculiar/x509';
import type { V1Secret } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClusterVersions } from '../../core/contracts';
import { tlsSecretType } from '../../core/contracts';
import { parseCertificateBundle, tlsSecretData } from '../credentials/vault-pki-value';
import type { CertificateBundle } from '../credentials/vault-pki-value';
import { tlsDataOf, tlsLayoutProblems } from './tls-secret';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;

/** A CA and a leaf it signed for `name`, as a stored bundle. */
async function bundle(name: string, serial: string): Promise<CertificateBundle> {
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await X509CertificateGenerator.createSelfSigned({
    name: 'CN=unit-root',
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [new BasicConstraintsExtension(true, undefined, true)],
  });
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${name}`,
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [new SubjectAlternativeNameExtension([{ type: 'dns', value: name }])],
  });
  return {
    certificate: leaf.toString('pem'),
    privateKey: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    caChain: ca.toString('pem'),
    serialNumber: serial.match(/../g)?.join(':') ?? serial,
  };
}

const versions: ClusterVersions = {
  store: { type: 'vault', mount: 'secret', path: 'apps/web/tls', key: 'value' },
  current: { version: '2', fingerprint: 'f2' },
  other: null,
  currentKey: 'value',
  otherKey: 'value-other',
  secretType: tlsSecretType,
};
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

let value = '';
let other = '';
beforeAll(async () => {
  value = JSON.stringify(await bundle('web.example.test', '0a0b0c'));
  other = JSON.stringify(await bundle('web.example.test', '0d0e0f'));
});

describe('the kubernetes.io/tls layout', () => {
  it('serves the current bundle: tls.crt the leaf, tls.key its key, ca.crt the root', () => {
    const b = parseCertificateBundle(value, 'v');
    const data = tlsSecretData(b);
    expect(data['tls.crt']).toBe(b.certificate.trim() + '\n');
    expect(data['ca.crt']).toBe(b.caChain.trim() + '\n');
    expect(data['tls.key'].trim()).toBe(b.privateKey.trim());
    expect(tlsDataOf(versions, value, 'here')['tls.crt']).toBe(b64(data['tls.crt']));
    expect(tlsDataOf({ ...versions, secretType: undefined }, value, 'here')).toEqual({});
  });

  it('a Secret is right only with the type and every tls.* key of the current version', () => {
    const secret = (type: string | undefined, served: string): V1Secret => ({
      ...(type ? { type } : {}),
      data: { value: b64(value), ...tlsDataOf(versions, served, 'here') },
    });
    expect(tlsLayoutProblems(secret(tlsSecretType, value), versions)).toEqual([]);
    expect(tlsLayoutProblems(secret(undefined, value), versions)).toEqual(['type Opaque, expected kubernetes.io/tls']);
    expect(tlsLayoutProblems(secret(tlsSecretType, other), versions)).toEqual([
      'tls.crt: does not serve the current version',
      'tls.key: does not serve the current version',
      'ca.crt: does not serve the current version',
    ]);
    // An Opaque Secret by design has no layout to check.
    expect(tlsLayoutProblems(secret(undefined, other), { ...versions, secretType: undefined })).toEqual([]);
  });

  it('refuses a current value that is no bundle, naming the version and never the value', () => {
    const secret = 'hunter2-not-a-bundle';
    expect(() => tlsDataOf(versions, secret, 'cluster-a')).toThrow(/cluster-a: the current version 2 is not JSON/);
    expect(() => tlsDataOf(versions, secret, 'cluster-a')).not.toThrow(new RegExp(secret));
    const b = JSON.parse(value) as CertificateBundle;
    const mismatched = JSON.stringify({ ...b, privateKey: (JSON.parse(other) as CertificateBundle).privateKey });
    expect(() => tlsDataOf(versions, mismatched, 'cluster-a')).toThrow(/privateKey does not belong to the certificate/);
    const wrongSerial = JSON.stringify({ ...b, serialNumber: 'ff' });
    expect(() => tlsDataOf(versions, wrongSerial, 'cluster-a')).toThrow(
      /serialNumber ff is not the certificate's serial/,
    );
  });
});
