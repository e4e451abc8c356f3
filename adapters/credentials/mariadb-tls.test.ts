import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MariadbTlsRefused, mariadbTls } from './mariadb-tls';

const mode = (m?: string, ca?: string): NodeJS.ProcessEnv => ({
  ...(m ? { ROTOR_MARIADB_SSL_MODE: m } : {}),
  ...(ca ? { ROTOR_MARIADB_SSL_CA: ca } : {}),
});

describe('MariaDB TLS settings', () => {
  it('beyond this machine, every mode but disabled verifies certificate and name (verify_ca the certificate only)', () => {
    for (const m of [undefined, 'preferred', 'required', 'verify_identity'])
      expect(mariadbTls('db.example.com', mode(m))).toEqual({ rejectUnauthorized: true, verifyIdentity: true });
    expect(mariadbTls('10.0.0.5', mode('verify_ca'))).toEqual({ rejectUnauthorized: true, verifyIdentity: false });
  });

  it('refuses disabled beyond this machine, naming the setting and what to set', () => {
    expect(() => mariadbTls('db.example.com', mode('disabled'))).toThrow(MariadbTlsRefused);
    expect(() => mariadbTls('db.example.com', mode('disabled'))).toThrow(
      /ROTOR_MARIADB_SSL_MODE is disabled for MariaDB at db\.example\.com.*set it to verify_identity/,
    );
  });

  it('on loopback keeps what the mode says: plaintext for disabled and preferred, unverified for required', () => {
    expect(mariadbTls('127.0.0.1', mode())).toBeUndefined();
    expect(mariadbTls('localhost', mode('disabled'))).toBeUndefined();
    expect(mariadbTls('::1', mode('required'))).toEqual({ rejectUnauthorized: false });
    expect(mariadbTls('127.0.0.1', mode('verify_identity'))).toEqual({
      rejectUnauthorized: true,
      verifyIdentity: true,
    });
  });

  it('reads the CA file, and names it when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-mariadb-tls-'));
    const ca = join(dir, 'ca.crt');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(mariadbTls('db.example.com', mode('verify_identity', ca))).toMatchObject({
      ca: expect.stringContaining('MIIB') as string,
    });
    expect(() => mariadbTls('db.example.com', mode('verify_identity', join(dir, 'missing.crt')))).toThrow(
      /ROTOR_MARIADB_SSL_CA=.*missing\.crt cannot be read \(ENOENT\)/,
    );
  });

  it('refuses an unknown mode with the ones it takes', () => {
    expect(() => mariadbTls('127.0.0.1', mode('verify-full'))).toThrow(
      'ROTOR_MARIADB_SSL_MODE is verify-full; set one of disabled, preferred, required, verify_ca, verify_identity',
    );
  });
});
