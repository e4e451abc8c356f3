import { describe, expect, it } from 'vitest';
import { vaultApiPath } from './vault-path';

describe('vault API paths, segment by segment', () => {
  it('joins mount, fixed words and names, encoding each segment on its own', () => {
    expect(vaultApiPath('secret', 'data', 'apps/payments/db')).toBe('secret/data/apps/payments/db');
    expect(vaultApiPath('database', 'static-roles', 'payments')).toBe('database/static-roles/payments');
    // Characters that would end the path or hide a dot reach Vault as data, inside their segment.
    expect(vaultApiPath('secret', 'data', 'apps/a?version=1#x')).toBe('secret/data/apps/a%3Fversion%3D1%23x');
    expect(vaultApiPath('secret', 'data', 'apps/%2e%2e/orders')).toBe('secret/data/apps/%252e%252e/orders');
  });

  it.each([['apps/../orders/db'], ['apps//db'], ['./apps/db'], ['apps/db/']])(
    'refuses %s before anything is sent',
    (path) => {
      expect(() => vaultApiPath('secret', 'data', path)).toThrow(
        `vault path 'secret/data/${path}' has an empty, '.' or '..' segment; nothing was sent to Vault`,
      );
    },
  );

  it('refuses a role that would climb out of its mount', () => {
    expect(() => vaultApiPath('database', 'creds', '../../sys/raw')).toThrow(/'\.\.' segment/);
  });
});
