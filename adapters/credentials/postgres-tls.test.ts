import { describe, expect, it } from 'vitest';
import { credentialDepsFromEnv } from './index';
import { postgresTls } from './postgres-tls';

describe('PostgreSQL TLS beyond this machine', () => {
  it('prefer (the libpq default) means verify', () => {
    expect(postgresTls('db.example.com', undefined, 'PGSSLMODE')).toEqual({ rejectUnauthorized: true });
    expect(postgresTls('db.example.com', 'prefer', 'PGSSLMODE')).toEqual({ rejectUnauthorized: true });
  });

  it('refuses the worker start when the admin connection would be plaintext, naming PGSSLMODE', () => {
    const vault = {} as Parameters<typeof credentialDepsFromEnv>[1];
    expect(() => credentialDepsFromEnv({ PGHOST: 'db.example.com', PGSSLMODE: 'disable' }, vault)).toThrow(
      'PGSSLMODE is disable for PostgreSQL at db.example.com, beyond this machine',
    );
    expect(credentialDepsFromEnv({ PGHOST: 'db.example.com' }, vault).pgAdmin().ssl).toEqual({
      rejectUnauthorized: true,
    });
    // A dev stack on loopback keeps libpq's meaning.
    expect(credentialDepsFromEnv({ PGHOST: '127.0.0.1', PGSSLMODE: 'disable' }, vault).pgAdmin().ssl).toBe(false);
  });
});
