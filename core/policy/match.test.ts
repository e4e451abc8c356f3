import { describe, expect, it } from 'vitest';
import { isCanonicalPath, underPrefix } from './match';

describe('isCanonicalPath', () => {
  it('accepts plain paths, and percent-encoding that decodes to plain segments', () => {
    for (const p of ['secret', 'apps/payments/api-key', 'apps/pay%6dents/db', 'apps/a%20b', 'apps/x.y/..z'])
      expect({ p, canonical: isCanonicalPath(p) }).toEqual({ p, canonical: true });
  });

  it("refuses empty, '.' and '..' segments as written", () => {
    for (const p of ['', '/apps', 'apps/', 'apps//x', './apps', 'apps/./x', 'apps/../orders', '..'])
      expect({ p, canonical: isCanonicalPath(p) }).toEqual({ p, canonical: false });
  });

  it('refuses them once percent-decoded, however often encoded, and malformed encoding', () => {
    for (const p of [
      'apps/payments/%2e%2e/orders/db',
      'apps/payments/%2E%2E/orders/db',
      'apps/payments/.%2e/orders',
      'apps/payments/%2e',
      'apps/payments%2f..%2forders/db',
      'apps/payments%2F%2Forders',
      'apps/payments/%252e%252e/orders/db',
      'apps/payments/%25252e%25252e/orders/db',
      'apps/%zz',
      'apps/100%',
    ])
      expect({ p, canonical: isCanonicalPath(p) }).toEqual({ p, canonical: false });
  });
});

describe('underPrefix', () => {
  it('compares whole segments', () => {
    expect(underPrefix('apps/payments/x', 'apps/payments')).toBe(true);
    expect(underPrefix('apps/payments', 'apps/payments')).toBe(true);
    expect(underPrefix('apps/paymentsx/db', 'apps/payments')).toBe(false);
    expect(underPrefix('apps/payments/../orders/db', 'apps/payments')).toBe(false);
  });
});
