import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeVaultTls, vaultTlsFromEnv, vaultTlsHint } from './vault-tls';

const dir = mkdtempSync(join(tmpdir(), 'rotor-vault-tls-unit-'));
// Reading only: whether Node accepts them is the integration test's job (test/integration/stack-tls.test.ts).
const pem = (name: string) => `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`;
const caA = join(dir, 'a.crt');
const caB = join(dir, 'b.crt');
beforeAll(() => {
  writeFileSync(caA, pem('a'));
  writeFileSync(caB, pem('b'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('VAULT_SKIP_VERIFY', () => {
  it.each(['https://127.0.0.1:8210', 'https://127.3.0.1', 'https://localhost:8200', 'https://[::1]:8200'])(
    'is honoured only as an explicit true, for the loopback address %s',
    (addr) => {
      expect(vaultTlsFromEnv({}, addr).strictSSL).toBe(true);
      expect(vaultTlsFromEnv({ VAULT_SKIP_VERIFY: 'false' }, addr).strictSSL).toBe(true);
      expect(vaultTlsFromEnv({ VAULT_SKIP_VERIFY: 'true' }, addr).strictSSL).toBe(false);
    },
  );

  it.each([
    'https://vault.internal:8200',
    'https://10.0.0.5:8200',
    'https://[fe80::1]:8200',
    'https://127.0.0.1.nip.io',
  ])('is refused for %s, naming the variable, the address and what to set instead', (addr) => {
    expect(() => vaultTlsFromEnv({ VAULT_SKIP_VERIFY: '1' }, addr)).toThrow(
      `VAULT_SKIP_VERIFY=1 is refused for VAULT_ADDR=${addr}: rotor verifies TLS to every Vault beyond this machine. Unset it and point VAULT_CACERT`,
    );
    expect(vaultTlsFromEnv({ VAULT_SKIP_VERIFY: 'no' }, addr).strictSSL).toBe(true);
  });

  it('is an error when it is not a boolean', () => {
    expect(() => vaultTlsFromEnv({ VAULT_SKIP_VERIFY: 'maybe' }, 'https://127.0.0.1')).toThrow(
      "VAULT_SKIP_VERIFY='maybe' is not a boolean",
    );
  });
});

describe('VAULT_CACERT and VAULT_CAPATH', () => {
  it('reads every CA file of VAULT_CAPATH; VAULT_CACERT takes precedence', () => {
    const capath = join(dir, 'capath');
    rmSync(capath, { recursive: true, force: true });
    mkdirSync(capath, { recursive: true });
    copyFileSync(caA, join(capath, 'a.pem'));
    copyFileSync(caB, join(capath, 'b.pem'));
    expect(vaultTlsFromEnv({ VAULT_CAPATH: capath }, 'https://v').ca?.map(String).sort()).toEqual([pem('a'), pem('b')]);
    expect(vaultTlsFromEnv({ VAULT_CAPATH: capath, VAULT_CACERT: caB }, 'https://v').ca?.map(String)).toEqual([
      pem('b'),
    ]);
  });

  it('names the variable and the file when a CA cannot be used', () => {
    const capath = join(dir, 'bad-capath');
    mkdirSync(capath, { recursive: true });
    expect(() => vaultTlsFromEnv({ VAULT_CAPATH: capath }, 'https://v')).toThrow(
      `VAULT_CAPATH=${capath} cannot be read (the directory holds no files)`,
    );
    writeFileSync(join(capath, 'key.pem'), '-----BEGIN PRIVATE KEY-----\n');
    expect(() => vaultTlsFromEnv({ VAULT_CAPATH: capath }, 'https://v')).toThrow(
      `VAULT_CAPATH=${capath} cannot be read (${join(capath, 'key.pem')} holds no PEM certificate)`,
    );
    expect(() => vaultTlsFromEnv({ VAULT_CACERT: join(dir, 'missing.pem') }, 'https://v')).toThrow(
      /VAULT_CACERT=.*missing\.pem cannot be read/,
    );
  });
});

describe('vaultTlsHint', () => {
  it('explains a certificate verification failure against the configured CA, and nothing else', () => {
    const e = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    expect(vaultTlsHint(e, { VAULT_CACERT: '/etc/ca.pem' })).toBe(
      "Vault's certificate does not verify against VAULT_CACERT=/etc/ca.pem (SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain); point VAULT_CACERT (or VAULT_CAPATH) at the CA that signed Vault's certificate",
    );
    expect(vaultTlsHint(e, {})).toContain('against the system CAs');
    expect(vaultTlsHint(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), {})).toBeUndefined();
  });
});

describe('describeVaultTls', () => {
  it('says how the worker reaches Vault, for its start log', () => {
    expect(describeVaultTls({}, 'http://127.0.0.1:8200')).toBe('http://127.0.0.1:8200 (plaintext)');
    expect(describeVaultTls({ VAULT_CAPATH: '/etc/cas' }, 'https://v:8200')).toBe(
      'https://v:8200 (TLS, verified against VAULT_CAPATH=/etc/cas)',
    );
    expect(describeVaultTls({ VAULT_SKIP_VERIFY: 'true' }, 'https://127.0.0.1:8210')).toBe(
      'https://127.0.0.1:8210 (TLS, verification off: VAULT_SKIP_VERIFY, loopback)',
    );
  });
});
