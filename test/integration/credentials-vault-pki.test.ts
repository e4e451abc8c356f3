/**
 * The vault-pki-certificate kind against the stack's Vault PKI (mount pki, root CA rotor-dev-root):
 * create issues a new certificate that is not revoked while the old one stays valid, the
 * tls-handshake canary completes a real handshake with it (and fails on a wrong name or chain),
 * revoke revokes the old serial and proves it on the CRL, read back here independently with its
 * signature checked (which fails under a CA that did not sign it); discard revokes the new one;
 * each is idempotent. Refused inputs issue nothing.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { X509CertificateGenerator } from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCanaryCheck } from '../../adapters/canaries';
import { createCredentialKinds, credentialDepsFromEnv } from '../../adapters/credentials/index';
import { checkCrl } from '../../adapters/credentials/vault-pki-crl';
import { parseCertificateBundle } from '../../adapters/credentials/vault-pki-value';
import { vaultFromEnv } from '../../adapters/vault-client';
import { ErrorTypes } from '../../core/failures';
import { canarySchema, credentialSchema } from '../../core/playbook/schema';
import type { Credential } from '../../core/playbook/schema';
import { ensurePki, issueBundle, onCrl, pkiSnapshot, revokedInVault, stackPki } from '../helpers/pki';
import { useStackEnv } from '../helpers/stack-env';

useStackEnv();

type PkiPolicy = Extract<Credential, { kind: 'vault-pki-certificate' }>;
const kind = createCredentialKinds(credentialDepsFromEnv())['vault-pki-certificate'];
const rotation = { workflowId: 'credentials-vault-pki-test', runId: randomUUID() };
const signal = new AbortController().signal;
const host = () => `svc-${randomBytes(4).toString('hex')}.${stackPki.leafDomain}`;

function policyFor(commonName: string, extra: Partial<PkiPolicy> = {}): PkiPolicy {
  return credentialSchema.parse({
    kind: 'vault-pki-certificate',
    role: stackPki.leafRole,
    commonName,
    ttl: '1h',
    ...extra,
  }) as PkiPolicy;
}
const handshake = (serverName: string) => canarySchema.parse({ type: 'tls-handshake', name: 'hs', serverName });
const keyOf = (value: string) => parseCertificateBundle(value, 'v').privateKey;

/** A self-signed CA nobody trusts, as PEM. */
async function strangerCa(): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await X509CertificateGenerator.createSelfSigned({ name: 'CN=stranger', keys, signingAlgorithm: alg });
  return cert.toString('pem');
}

beforeAll(async () => {
  await ensurePki();
}, 60_000);

describe('vault-pki-certificate', () => {
  it('create issues a new certificate beside the valid old one; the canary handshakes; revoke puts the old serial on the CRL', async () => {
    const name = host();
    const policy = policyFor(name, { altNames: [`www.${name}`] });
    const current = JSON.stringify(await issueBundle(name));
    const old = parseCertificateBundle(current, 'current');

    const pending = await kind.create(policy, { currentValue: current, rotation });
    const next = parseCertificateBundle(pending, 'pending');
    expect(next.serialNumber).not.toBe(old.serialNumber);
    expect(next.cert.subject).toContain(`CN=${name}`);
    expect(next.cert.subjectAltName).toContain(`DNS:www.${name}`);
    // The overlap: both are valid until revoke.
    expect([await revokedInVault(old.serialNumber), await revokedInVault(next.serialNumber)]).toEqual([false, false]);
    expect(await onCrl([old.serialNumber, next.serialNumber])).toEqual([]);

    const canary = await runCanaryCheck(handshake(name), pending, signal);
    expect(canary).toMatchObject({ ok: true });
    expect(canary.detail).toContain(`TLS handshake as ${name}`);
    expect(canary.detail.includes(next.privateKey)).toBe(false);

    const evidence = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
    expect(evidence.rejected).toBe(true);
    expect(evidence.detail).toContain(`serial ${old.serialNumber}`);
    expect(evidence.detail).toContain('signature verified under CN=rotor-dev-root');
    expect(evidence.detail).toContain(`lists serial ${old.serialNumber} revoked at`);
    expect(evidence.detail).toContain(`the current serial ${next.serialNumber}`);
    expect(evidence.detail.includes(keyOf(current)) || evidence.detail.includes(next.privateKey)).toBe(false);
    // Read back independently: Vault and the CRL say the old one is revoked, the new one is not.
    expect(await revokedInVault(old.serialNumber)).toBe(true);
    expect(await onCrl([old.serialNumber, next.serialNumber])).toEqual([old.serialNumber]);

    // The signature check can fail: under a CA that did not sign it, the same CRL proves nothing.
    const crl = ((await vaultFromEnv().read(`${stackPki.mount}/cert/crl`)) as { data: { certificate: string } }).data;
    const underStranger = await checkCrl(crl.certificate, [await strangerCa()], [old.serialNumber]);
    expect(underStranger.signedBy).toBeUndefined();
    expect(underStranger.listed.has(old.serialNumber)).toBe(true);

    const again = await kind.revoke(policy, { oldValue: current, currentValue: pending, rotation });
    expect(again.rejected).toBe(true);
    expect(again.detail).toContain('already revoked');
  });

  it('discard revokes the never-served new certificate, again without harm; the current one stays valid', async () => {
    const name = host();
    const policy = policyFor(name);
    const current = JSON.stringify(await issueBundle(name));
    const pending = await kind.create(policy, { currentValue: current, rotation });
    const next = parseCertificateBundle(pending, 'pending');
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    await kind.discard(policy, { pendingValue: pending, currentValue: current, rotation });
    const old = parseCertificateBundle(current, 'current');
    expect(await revokedInVault(next.serialNumber)).toBe(true);
    expect(await revokedInVault(old.serialNumber)).toBe(false);
    expect(await onCrl([old.serialNumber, next.serialNumber])).toEqual([next.serialNumber]);
    // Discarding the current value itself changes nothing.
    await kind.discard(policy, { pendingValue: current, currentValue: current, rotation });
    expect(await revokedInVault(old.serialNumber)).toBe(false);
  });

  it('the canary fails clearly on a name the certificate does not carry and on a chain the bundle does not trust', async () => {
    const name = host();
    const value = await issueBundle(name);
    const wrongName = await runCanaryCheck(handshake(`other.${stackPki.leafDomain}`), JSON.stringify(value), signal);
    expect(wrongName.ok).toBe(false);
    expect(wrongName.detail).toContain(`TLS handshake as other.${stackPki.leafDomain}`);
    expect(wrongName.detail).toMatch(/does not match certificate's altnames/);
    const untrusted = { ...value, caChain: await strangerCa() };
    const wrongChain = await runCanaryCheck(handshake(name), JSON.stringify(untrusted), signal);
    expect(wrongChain.ok).toBe(false);
    expect(wrongChain.detail).toMatch(/unable to (verify the first certificate|get local issuer certificate)/);
    expect(wrongChain.detail.includes(value.privateKey)).toBe(false);
  });

  it.each([
    ['a name the role does not allow', () => policyFor(`x.${stackPki.otherDomain}`), 'not allowed by this role'],
    ['an unknown role', () => policyFor(host(), { role: 'no-such-role' }), 'pki/issue/no-such-role'],
  ])('create with %s fails as InvalidInput and issues nothing', async (_what, policy, message) => {
    const current = JSON.stringify(await issueBundle(host()));
    const before = await pkiSnapshot();
    const err = (await kind
      .create(policy(), { currentValue: current, rotation })
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe(ErrorTypes.invalidInput);
    expect(err.message).toContain(message);
    expect(await pkiSnapshot()).toEqual(before);
  });

  it('create refuses a current value that is not a certificate bundle before issuing anything, without echoing it', async () => {
    const before = await pkiSnapshot();
    const secret = `not-a-bundle-${randomBytes(8).toString('hex')}`;
    const err = (await kind
      .create(policyFor(host()), { currentValue: JSON.stringify({ password: secret }), rotation })
      .catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.type).toBe(ErrorTypes.invalidInput);
    expect(err.message).toContain('the current value (for the first rotation, store a certificate bundle');
    expect(err.message.includes(secret)).toBe(false);
    expect(await pkiSnapshot()).toEqual(before);
  });
});
