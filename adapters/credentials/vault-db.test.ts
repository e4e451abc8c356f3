import { describe, expect, it } from 'vitest';
import { postgresTargetOf } from './vault-db';

const url = (host: string, sslmode?: string) =>
  `postgresql://{{username}}:{{password}}@${host}:5432/app${sslmode ? `?sslmode=${sslmode}` : ''}`;

describe('postgresTargetOf: TLS of the revocation-proof login', () => {
  it('verifies the server whenever TLS is on beyond this machine, sslmode=require included', () => {
    for (const mode of ['require', 'verify-ca', 'verify-full'])
      expect(postgresTargetOf(url('db.internal', mode)).ssl, mode).toEqual({ rejectUnauthorized: true });
  });

  it('lets require skip verification only for a loopback server, and keeps plaintext modes plaintext', () => {
    expect(postgresTargetOf(url('127.0.0.1', 'require')).ssl).toEqual({ rejectUnauthorized: false });
    expect(postgresTargetOf(url('127.0.0.1', 'verify-full')).ssl).toEqual({ rejectUnauthorized: true });
    for (const mode of [undefined, 'disable', 'allow', 'prefer'])
      expect(postgresTargetOf(url('db.internal', mode)).ssl, String(mode)).toBe(false);
    expect(postgresTargetOf(url('db.internal'))).toMatchObject({ host: 'db.internal', port: 5432, database: 'app' });
  });
});
