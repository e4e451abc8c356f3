import { describe, expect, it } from 'vitest';
import { postgresTargetOf } from './vault-db';

const url = (host: string, sslmode?: string) =>
  `postgresql://{{username}}:{{password}}@${host}:5432/app${sslmode ? `?sslmode=${sslmode}` : ''}`;

describe('postgresTargetOf: TLS of the revocation-proof login', () => {
  it('verifies the server beyond this machine, sslmode=prefer (the default) and require included', () => {
    for (const mode of [undefined, 'prefer', 'require', 'verify-full'])
      expect(postgresTargetOf(url('db.internal', mode)).ssl, String(mode)).toEqual({ rejectUnauthorized: true });
    expect(postgresTargetOf(url('db.internal', 'verify-ca')).ssl).toMatchObject({ rejectUnauthorized: true });
    expect(postgresTargetOf(url('db.internal'))).toMatchObject({ host: 'db.internal', port: 5432, database: 'app' });
  });

  it('refuses plaintext beyond this machine, naming the setting', () => {
    for (const mode of ['disable', 'allow', 'no-verify'])
      expect(() => postgresTargetOf(url('db.internal', mode)), mode).toThrow(
        `sslmode in the connection_url is ${mode} for PostgreSQL at db.internal, beyond this machine: the credential would travel without verified TLS; set it to verify-full`,
      );
  });

  it('keeps libpq meanings on loopback (a dev stack)', () => {
    expect(postgresTargetOf(url('127.0.0.1', 'require')).ssl).toEqual({ rejectUnauthorized: false });
    expect(postgresTargetOf(url('127.0.0.1', 'verify-full')).ssl).toEqual({ rejectUnauthorized: true });
    for (const mode of [undefined, 'disable', 'allow', 'prefer'])
      expect(postgresTargetOf(url('127.0.0.1', mode)).ssl, String(mode)).toBe(false);
  });
});
