/**
 * What a MariaDB/MySQL server is, from its `VERSION()`: rotor asks the server instead of a playbook
 * field, so a playbook cannot claim a feature the server lacks.
 */
export interface ServerVariant {
  variant: 'mariadb' | 'mysql';
  /** As the server reported it, e.g. `10.11.19-MariaDB-0+deb12u1` or `8.0.36`. */
  version: string;
  major: number;
  minor: number;
  patch: number;
}

/** Parses `SELECT VERSION()`; MariaDB's always contains `MariaDB`. */
export function serverVariant(version: string): ServerVariant {
  const [major = 0, minor = 0, patch = 0] = (/^(\d+)\.(\d+)\.(\d+)/.exec(version)?.slice(1) ?? []).map(Number);
  return { variant: /mariadb/i.test(version) ? 'mariadb' : 'mysql', version, major, minor, patch };
}

/** `major.minor.patch` as one comparable number. */
const ordinal = (major: number, minor: number, patch: number) => major * 1_000_000 + minor * 1_000 + patch;

/**
 * Whether the server has dual passwords (`RETAIN CURRENT PASSWORD` / `DISCARD OLD PASSWORD`):
 * MySQL 8.0.14 and newer. MariaDB has none; it needs two users that take turns.
 */
export function retainCurrentPasswordSupport(
  s: ServerVariant,
): { supported: true } | { supported: false; why: string } {
  if (s.variant === 'mariadb')
    return {
      supported: false,
      why: `MariaDB ${s.version} has no RETAIN CURRENT PASSWORD (dual passwords are MySQL 8.0.14+)`,
    };
  if (ordinal(s.major, s.minor, s.patch) < ordinal(8, 0, 14))
    return { supported: false, why: `MySQL ${s.version} has no RETAIN CURRENT PASSWORD (it came in MySQL 8.0.14)` };
  return { supported: true };
}
