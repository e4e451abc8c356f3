import { describe, expect, it } from 'vitest';
import { vaultFromEnv } from './vault-client';

describe('no plaintext beyond this machine', () => {
  it('refuses an http:// VAULT_ADDR beyond loopback at worker start, naming the variable', () => {
    expect(() => vaultFromEnv({ VAULT_ADDR: 'http://vault.example:8200', VAULT_TOKEN: 't' })).toThrow(
      'VAULT_ADDR http://vault.example:8200 is plaintext http beyond this machine: the Vault token and every secret would travel in cleartext; use https://',
    );
  });

  it('accepts https anywhere and http on loopback (a dev stack)', () => {
    expect(() => vaultFromEnv({ VAULT_ADDR: 'https://vault.example:8200', VAULT_TOKEN: 't' })).not.toThrow();
    expect(() => vaultFromEnv({ VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_TOKEN: 't' })).not.toThrow();
  });
});
