import { ApplicationFailure } from '@temporalio/common';
import mysql from 'mysql2/promise';
import type { Credential } from '../../core/playbook/schema';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';
import { generateRandom } from '../generate';
import type { MariadbAdmin } from './mariadb-env';
import { nativePasswordHash } from './mariadb-login';
import { serverVariant } from './mariadb-server';
import { MariadbTlsRefused } from './mariadb-tls';
import type { ServerVariant } from './mariadb-server';

export type MariadbCredential = Extract<Credential, { kind: 'mariadb-users' }>;

/** What the MariaDB kind administers users with; none of it comes from a playbook. */
export interface MariadbAdminDeps {
  /** rotor's admin account (a fresh object per call). */
  mariadbAdmin: () => MariadbAdmin;
  /** Servers (besides the admin account's own) admin credentials may go to; any when undefined (dev). */
  mariadbServers?: { host: string; port: number }[] | undefined;
}

/** One admin connection to the playbook's server, and what the server said it is. */
export interface AdminSession {
  conn: mysql.Connection;
  server: ServerVariant;
  /** `host:port` for messages. */
  where: string;
  adminUser: string;
}

/** Server error numbers meaning rotor's admin account lacks a privilege (or was refused). */
const deniedErrors = new Set([1044, 1045, 1142, 1227, 1370]);

/** The server a credential's users live on, with the admin account's server as the default. */
export function targetOf(
  deps: MariadbAdminDeps,
  p: MariadbCredential,
): { host: string; port: number; database: string | undefined } {
  const admin = deps.mariadbAdmin();
  return { host: p.host ?? admin.host, port: p.port ?? admin.port, database: p.database };
}

/**
 * Runs `fn` over an admin connection to the playbook's server. The playbook may name a host, but
 * rotor's admin credentials only go to the admin account's own server and `mariadbServers`.
 */
export async function withMariadbAdmin<T>(
  deps: MariadbAdminDeps,
  p: MariadbCredential,
  fn: (s: AdminSession) => Promise<T>,
): Promise<T> {
  const admin = deps.mariadbAdmin();
  const t = targetOf(deps, p);
  const where = `${t.host}:${t.port}`;
  const known =
    (t.host === admin.host && t.port === admin.port) ||
    deps.mariadbServers?.some((s) => s.host === t.host && s.port === t.port);
  if (deps.mariadbServers && !known)
    throw permanent(
      ErrorTypes.permissionDenied,
      `MariaDB ${where} is not a server the worker is configured for (policy mariadbServers); rotor's admin credentials are not sent there`,
    );
  let conn: mysql.Connection | undefined;
  try {
    const ssl = admin.tls(t.host);
    conn = await mysql.createConnection({
      host: t.host,
      port: t.port,
      user: admin.user,
      password: admin.password,
      connectTimeout: 10_000,
      ...(ssl ? { ssl } : {}),
    });
    conn.on('error', () => undefined);
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    const server = serverVariant(String(rows[0]?.['v'] ?? ''));
    return await fn({ conn, server, where, adminUser: admin.user });
  } catch (e) {
    if (e instanceof ApplicationFailure) throw e;
    if (e instanceof MariadbTlsRefused) throw permanent(ErrorTypes.invalidInput, e.message);
    const code = (e as { code?: unknown }).code;
    // mysql2's codes for a TLS handshake that failed (mostly an unverified certificate or name) and
    // for a server without TLS: settings to fix, not worth retrying.
    if (code === 'HANDSHAKE_SSL_ERROR')
      throw permanent(
        ErrorTypes.invalidInput,
        `MariaDB ${where}: the TLS handshake failed (${(e as Error).message}); point ROTOR_MARIADB_SSL_CA at the CA that signed the server's certificate, and use a host name that certificate names`,
      );
    if (code === 'HANDSHAKE_NO_SSL_SUPPORT')
      throw permanent(
        ErrorTypes.invalidInput,
        `MariaDB ${where} offers no TLS, which ROTOR_MARIADB_SSL_MODE asks for; enable TLS on the server (ssl_cert/ssl_key)`,
      );
    const err = e as Error & { errno?: number; sqlState?: string; code?: string };
    if (err.sqlState === undefined && err.code !== undefined)
      // Unreachable server, timeout, reset: transient, and every step here is idempotent.
      throw retryable(RetryableErrorTypes.mariadb, `MariaDB ${where}: ${err.code} ${err.message}`);
    if (err.errno !== undefined && deniedErrors.has(err.errno))
      throw permanent(ErrorTypes.permissionDenied, `MariaDB ${where}, as rotor's admin account: ${err.message}`);
    throw e;
  } finally {
    await conn?.end().catch(() => undefined);
  }
}

/** `'user'@'host'`, each part a quoted string literal. */
export function accountOf(p: MariadbCredential, user: string): string {
  return `${mysql.escape(user)}@${mysql.escape(p.userHost)}`;
}

/** A new password; alphanumeric keeps it safe in connection strings and URLs consumers build. */
export function newPassword(length: number): string {
  return generateRandom({ length, charset: 'alphanumeric' });
}

/**
 * `IDENTIFIED BY …` for a password: MariaDB gets its hash (so statement logs never hold the
 * password); MySQL 8 has no such form for its default plugin and takes the password, which it
 * masks in its own logs.
 */
export function identifiedBy(server: ServerVariant, password: string): string {
  return server.variant === 'mariadb'
    ? `IDENTIFIED BY PASSWORD ${mysql.escape(nativePasswordHash(password))}`
    : `IDENTIFIED BY ${mysql.escape(password)}`;
}

/** SHOW GRANTS of an account, one statement per line. */
export async function grantsOf(s: AdminSession, account: string): Promise<string[]> {
  const [rows] = await s.conn.query<mysql.RowDataPacket[]>({ sql: `SHOW GRANTS FOR ${account}`, rowsAsArray: true });
  return rows.map((r) => String((r as unknown[])[0]));
}

/** A grant with the account and its password hash taken out, so two accounts' grants compare. */
function normalised(grant: string, user: string, userHost: string): string {
  return grant
    .replaceAll(`\`${user}\`@\`${userHost}\``, '<account>')
    .replaceAll(`'${user}'@'${userHost}'`, '<account>')
    .replace(/ IDENTIFIED (?:BY PASSWORD|VIA|WITH) \S+(?: (?:USING|AS) '[^']*')?/, '');
}

/**
 * The users must exist, must not be rotor's own admin account nor hold administrative privileges
 * (locking one would lock out administration), and, when two take turns and `sameGrants` is asked
 * (at create), must have the same grants: each rotation makes the other one current. Undo and
 * revoke do not ask it: a grant changed meanwhile must not keep a user from being locked.
 */
export async function checkUsers(s: AdminSession, p: MariadbCredential, sameGrants = true): Promise<void> {
  const grants: string[][] = [];
  for (const user of p.users) {
    const [rows] = await s.conn.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM mysql.user WHERE User = ? AND Host = ?',
      [user, p.userHost],
    );
    const other = p.users.find((u) => u !== user);
    if (Number(rows[0]?.['n'] ?? 0) === 0)
      throw permanent(
        ErrorTypes.invalidInput,
        `MariaDB user ${accountOf(p, user)} does not exist on ${s.where}${other ? `: create it with the same grants as '${other}'` : ''}`,
      );
    if (user === s.adminUser)
      throw permanent(
        ErrorTypes.invalidInput,
        `MariaDB user '${user}' is rotor's own admin account; rotor does not rotate it`,
      );
    const g = await grantsOf(s, accountOf(p, user));
    const admin = g.find((l) => / ON \*\.\* /.test(l) && /ALL PRIVILEGES|SUPER|CREATE USER|WITH GRANT OPTION/.test(l));
    if (admin)
      throw permanent(
        ErrorTypes.invalidInput,
        `MariaDB user ${accountOf(p, user)} holds administrative privileges (${normalised(admin, user, p.userHost)}); rotor does not rotate administrators`,
      );
    grants.push(g.map((l) => normalised(l, user, p.userHost)).sort());
  }
  const [a = [], b] = grants;
  if (b === undefined || !sameGrants) return;
  const onlyA = a.filter((l) => !b.includes(l));
  const onlyB = b.filter((l) => !a.includes(l));
  if (onlyA.length || onlyB.length)
    throw permanent(
      ErrorTypes.invalidInput,
      `MariaDB users '${p.users[0]}' and '${p.users[1]}' on ${s.where} do not have the same grants (only '${p.users[0]}': ${onlyA.join('; ') || 'none'}; only '${p.users[1]}': ${onlyB.join('; ') || 'none'}); give them the same grants, each rotation makes the other one current`,
    );
}
