import { createHash, randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { mariadbAdminFromEnv } from '../../adapters/credentials/mariadb-env';
import { tryMariadbLogin } from '../../adapters/credentials/mariadb-login';
import type { UserPassword } from '../../adapters/credentials/values';
import { useStackEnv } from './stack-env';

/** Runs `fn` on rotor's admin connection to the stack's MariaDB (ROTOR_MARIADB_* env), always closing it. */
export async function withMariadbAdmin<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  useStackEnv();
  const admin = mariadbAdminFromEnv()();
  const c = await mysql.createConnection({
    host: admin.host,
    port: admin.port,
    user: admin.user,
    password: admin.password,
  });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** `'user'@'%'`, quoted. */
export const account = (user: string, host = '%'): string => `${mysql.escape(user)}@${mysql.escape(host)}`;

/**
 * Two users with the same grant (SELECT on `database`), as the alternating-users scheme needs: `a`
 * logs in with a known password (returned as the stored JSON value), `b` is locked.
 */
export async function createUserPair(
  a: string,
  b: string,
  database: string,
): Promise<{ initial: string; password: string }> {
  const password = randomBytes(18).toString('base64url');
  await withMariadbAdmin(async (c) => {
    await c.query(`CREATE USER ${account(a)} IDENTIFIED BY ${mysql.escape(password)}`);
    await c.query(
      `CREATE USER ${account(b)} IDENTIFIED BY ${mysql.escape(randomBytes(18).toString('hex'))} ACCOUNT LOCK`,
    );
    await c.query(`GRANT SELECT ON ${mysql.escapeId(database)}.* TO ${account(a)}, ${account(b)}`);
  });
  return { initial: JSON.stringify({ username: a, password }), password };
}

/** Drops the users (and their sessions' access) if they exist. */
export function dropUsers(users: readonly string[]): Promise<void> {
  return withMariadbAdmin(async (c) => {
    for (const u of users) await c.query(`DROP USER IF EXISTS ${account(u)}`);
  });
}

/** Whether the server lets the stored credential log in and read `table` — a real login, as a boolean. */
export async function canLogInMariadb(value: string, table: string): Promise<boolean> {
  useStackEnv();
  const cred = JSON.parse(value) as UserPassword;
  return (await tryMariadbLogin({}, cred, { query: `select count(*) from ${table}`, timeoutMs: 5_000 })).ok;
}

/** Whether the account is locked, read from the server (SHOW CREATE USER). */
export function isLocked(user: string): Promise<boolean> {
  return withMariadbAdmin(async (c) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>({
      sql: `SHOW CREATE USER ${account(user)}`,
      rowsAsArray: true,
    });
    return String((rows[0] as unknown[] | undefined)?.[0]).includes('ACCOUNT LOCK');
  });
}

/** A victim's state as the server holds it, for "nothing changed" checks (see victims.ts). */
export interface MariadbUserState {
  user: string;
  exists: boolean;
  locked: boolean;
  /** Digest of the password hash in SHOW CREATE USER: equal hashes compare equal, the hash is never kept. */
  password: string | null;
  /** SHOW GRANTS, the password hash taken out. */
  grants: string[];
}

const digest = (value: string): string => `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 16)}`;

/**
 * Users as the server holds them, in the order given: whether each exists, is locked, a digest of
 * its password hash and its grants (SHOW CREATE USER, SHOW GRANTS). Read with rotor's admin
 * account, never through the kind under test.
 */
export function mariadbUsersProbe(users: readonly string[], host = '%'): () => Promise<MariadbUserState[]> {
  const firstColumn = async (c: mysql.Connection, sql: string) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>({ sql, rowsAsArray: true });
    return rows.map((r) => String((r as unknown[])[0]));
  };
  return () =>
    withMariadbAdmin(async (c) => {
      const out: MariadbUserState[] = [];
      for (const user of users) {
        const [exists] = await c.query<mysql.RowDataPacket[]>('SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?', [
          user,
          host,
        ]);
        if (exists.length === 0) {
          out.push({ user, exists: false, locked: false, password: null, grants: [] });
          continue;
        }
        const [create = ''] = await firstColumn(c, `SHOW CREATE USER ${account(user, host)}`);
        const hash = /IDENTIFIED (?:BY PASSWORD|VIA \S+ USING) '([^']*)'/.exec(create)?.[1] ?? null;
        const grants = await firstColumn(c, `SHOW GRANTS FOR ${account(user, host)}`);
        out.push({
          user,
          exists: true,
          locked: create.includes('ACCOUNT LOCK'),
          password: hash === null ? null : digest(hash),
          grants: grants.map((g) => g.replace(/ IDENTIFIED BY PASSWORD '[^']*'/, '')),
        });
      }
      return out;
    });
}

/** A database of its own with one table `t`; returns `<database>.t`. */
export async function createTestDatabase(database: string): Promise<string> {
  const table = `${mysql.escapeId(database)}.t`;
  await withMariadbAdmin(async (c) => {
    await c.query(`CREATE DATABASE ${mysql.escapeId(database)}`);
    await c.query(`CREATE TABLE ${table} (id int)`);
  });
  return `${database}.t`;
}

/** Drops the users, then the database (each if it exists). */
export async function dropTestDatabase(database: string, users: readonly string[]): Promise<void> {
  await dropUsers(users);
  await withMariadbAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`));
}
