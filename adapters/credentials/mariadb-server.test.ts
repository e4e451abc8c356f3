import { describe, expect, it } from 'vitest';
import { retainCurrentPasswordSupport, serverVariant } from './mariadb-server';

const support = (version: string) => retainCurrentPasswordSupport(serverVariant(version));

describe('dual passwords are detected from the server version', () => {
  it('reads MariaDB and MySQL version strings', () => {
    expect(serverVariant('10.11.19-MariaDB-0+deb12u1')).toEqual({
      variant: 'mariadb',
      version: '10.11.19-MariaDB-0+deb12u1',
      major: 10,
      minor: 11,
      patch: 19,
    });
    expect(serverVariant('8.0.36-0ubuntu0.22.04.1')).toMatchObject({ variant: 'mysql', major: 8, minor: 0, patch: 36 });
    // MariaDB behind MySQL's replication prefix still says MariaDB.
    expect(serverVariant('5.5.5-10.6.12-MariaDB').variant).toBe('mariadb');
  });

  it('allows RETAIN CURRENT PASSWORD from MySQL 8.0.14 on, and refuses MariaDB and older MySQL naming why', () => {
    expect(support('8.0.14')).toEqual({ supported: true });
    expect(support('8.4.3')).toEqual({ supported: true });
    expect(support('9.1.0')).toEqual({ supported: true });
    expect(support('8.0.13')).toEqual({
      supported: false,
      why: 'MySQL 8.0.13 has no RETAIN CURRENT PASSWORD (it came in MySQL 8.0.14)',
    });
    expect(support('5.7.44-log')).toMatchObject({ supported: false });
    expect(support('11.4.2-MariaDB')).toEqual({
      supported: false,
      why: 'MariaDB 11.4.2-MariaDB has no RETAIN CURRENT PASSWORD (dual passwords are MySQL 8.0.14+)',
    });
  });
});
