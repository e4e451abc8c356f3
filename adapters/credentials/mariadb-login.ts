import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { redact } from '../redact';
import { mariadbDefaults } from './mariadb-target';
import { mariadbTls } from './mariadb-tls';
import type { MariadbTarget } from './mariadb-target';
import type { LoginOutcome } from './login-proof';
import type { UserPassword } from './values';

/**
 * Server error numbers that mean the server refused the login itself: wrong password (1045),
 * account locked (MariaDB 4151, MySQL 3118), expired password refused (1862).
 */
const refusedLogin = new Set([1045, 4151, 3118, 1862]);

/**
 * The `mysql_native_password` hash of a password (`*` + hex SHA1(SHA1(password))). MariaDB's
 * `IDENTIFIED BY PASSWORD '<hash>'` takes it instead of the password, so a server that logs
 * statements never records the password.
 */
export function nativePasswordHash(password: string): string {
  const once = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(once).digest('hex').toUpperCase()}`;
}

/**
 * Logs in as `cred` and runs `query`. Never throws: the outcome says whether the server refused the
 * login (proof of revocation) or something else went wrong (inconclusive). Messages are redacted.
 */
export async function tryMariadbLogin(
  target: MariadbTarget,
  cred: UserPassword,
  opts: { query?: string; timeoutMs: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<LoginOutcome> {
  const d = mariadbDefaults(opts.env);
  let conn: mysql.Connection | undefined;
  const abort = () => conn?.destroy();
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (opts.signal?.aborted) return { ok: false, refused: false, message: 'cancelled' };
    const host = target.host ?? d.host;
    const ssl = mariadbTls(host, opts.env);
    conn = await mysql.createConnection({
      ...(ssl ? { ssl } : {}),
      host,
      port: target.port ?? d.port,
      ...(target.database ? { database: target.database } : {}),
      user: cred.username,
      password: cred.password,
      connectTimeout: opts.timeoutMs,
    });
    // A connection ended by the server afterwards emits 'error'; the next query reports it.
    conn.on('error', () => undefined);
    const [rows] = await conn.query({ sql: opts.query ?? 'select 1', timeout: opts.timeoutMs });
    return { ok: true, refused: false, message: `${Array.isArray(rows) ? rows.length : 0} row(s)` };
  } catch (e) {
    const err = e as Error & { errno?: number; code?: string; sqlState?: string };
    const refused = typeof err.errno === 'number' && refusedLogin.has(err.errno);
    return {
      ok: false,
      refused,
      // A server error is named by its number (1045); a network one by its Node code (ECONNREFUSED).
      code: err.sqlState && err.errno !== undefined ? String(err.errno) : err.code,
      message: redact(err.message, [cred.password]),
    };
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    await conn?.end().catch(() => undefined);
  }
}
