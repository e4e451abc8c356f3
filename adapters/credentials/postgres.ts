import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Credential } from '../../core/playbook/schema';
import { ErrorTypes, RetryableErrorTypes, permanent, retryable } from '../../core/failures';
import { generateRandom } from '../generate';
import { redact } from '../redact';
import type { CredentialKind } from './kind';
import { loginEvidence } from './login-proof';
import type { LoginOutcome } from './login-proof';
import { parseUserPassword } from './values';
import { postgresTls } from './postgres-tls';
import type { UserPassword } from './values';
import type { RevocationEvidence } from '../../core/status';

type PostgresCredential = Extract<Credential, { kind: 'postgres-alternating-users' }>;

/** Where a login goes; unset fields fall back to pg's own PG* environment defaults. */
export interface PostgresTarget {
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
  ssl?: pg.ClientConfig['ssl'];
}

/** `host:port/database` for reports, with PG* defaults filled in the way pg fills them. */
export function describeTarget(t: PostgresTarget, env: NodeJS.ProcessEnv = process.env): string {
  return `${t.host ?? env['PGHOST'] ?? 'localhost'}:${t.port ?? env['PGPORT'] ?? 5432}/${t.database ?? env['PGDATABASE'] ?? '(default)'}`;
}

/**
 * Logs in as `cred` and runs `query`. Never throws: the outcome says whether the server refused the
 * login (proof of revocation) or something else went wrong (inconclusive). Messages are redacted.
 */
export async function tryPostgresLogin(
  target: PostgresTarget,
  cred: UserPassword,
  opts: { query?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<LoginOutcome> {
  const client = new pg.Client({
    ...target,
    user: cred.username,
    password: cred.password,
    connectionTimeoutMillis: opts.timeoutMs,
    query_timeout: opts.timeoutMs,
    statement_timeout: opts.timeoutMs,
    application_name: 'rotor-check',
  });
  // A backend terminated after connect emits 'error' on the client; the query's rejection reports it.
  client.on('error', () => undefined);
  const abort = () => void client.end().catch(() => undefined);
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (opts.signal?.aborted) return { ok: false, refused: false, message: 'cancelled' };
    await client.connect();
    const res = await client.query(opts.query ?? 'select 1');
    return { ok: true, refused: false, message: `${res.rowCount ?? 0} row(s)` };
  } catch (e) {
    const err = e as Error & { code?: string };
    return {
      ok: false,
      refused: typeof err.code === 'string' && err.code.startsWith('28'),
      code: err.code,
      message: redact(err.message, [cred.password]),
    };
  } finally {
    opts.signal?.removeEventListener('abort', abort);
    await client.end().catch(() => undefined);
  }
}

/**
 * A SCRAM-SHA-256 verifier in PostgreSQL's format. ALTER ROLE gets this instead of the password, so
 * a server that logs statements (log_statement, pg_stat_statements) never records the password.
 * SASLprep is the identity for the ASCII passwords rotor generates.
 */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function newPassword(length: number): string {
  // Alphanumeric keeps the value safe in connection strings and URLs that consumers may build.
  return generateRandom({ length, charset: 'alphanumeric' });
}

const proofTimeoutMs = 10_000;

/**
 * Two roles take turns (the "alternating users" scheme): create gives the role not in the current
 * value a new password and LOGIN, so both work during distribution; revoke locks the old role
 * (unknown password, NOLOGIN), terminates its sessions and proves a login with the old password is
 * refused. Role administration runs over the admin connection from `pgAdmin` (PG* environment).
 */
export function postgresAlternatingUsersKind(deps: {
  pgAdmin: () => pg.ClientConfig;
  /** Servers besides the admin connection's own that admin credentials may go to; any when undefined (dev). */
  adminServers?: { host: string; port: number }[] | undefined;
}): CredentialKind<PostgresCredential> {
  const targetOf = (p: PostgresCredential): PostgresTarget => {
    const admin = deps.pgAdmin();
    const host = p.host ?? admin.host;
    return {
      host,
      port: p.port ?? admin.port,
      database: p.database ?? admin.database,
      // Another server than the admin connection's: verified TLS beyond this machine, whatever PGSSLMODE says.
      ssl: host === admin.host ? admin.ssl : postgresTls(host, 'verify-full', 'the server'),
    };
  };

  async function withAdmin<T>(p: PostgresCredential, fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const t = targetOf(p);
    const admin = deps.pgAdmin();
    const known = (h: string | undefined, port: number | undefined) =>
      (h === admin.host && (port ?? 5432) === (admin.port ?? 5432)) ||
      deps.adminServers?.some((s) => s.host === h && s.port === (port ?? 5432));
    // The playbook may name a host, but rotor's admin credentials only go to servers the worker knows.
    if (deps.adminServers && !known(t.host, t.port))
      throw permanent(
        ErrorTypes.permissionDenied,
        `PostgreSQL ${describeTarget(t)} is not a database server the worker is configured for (policy databaseServers); rotor's admin credentials are not sent there`,
      );
    const client = new pg.Client({ ...deps.pgAdmin(), host: t.host, port: t.port, application_name: 'rotor' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await fn(client);
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err.code === '42501')
        throw permanent(ErrorTypes.permissionDenied, `PostgreSQL ${describeTarget(t)}: ${err.message}`);
      throw e;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Both roles must exist and neither may be a superuser: locking one would lock out administration. */
  async function checkRoles(c: pg.Client, p: PostgresCredential): Promise<void> {
    const res = await c.query<{ rolname: string; rolsuper: boolean }>(
      'select rolname, rolsuper from pg_roles where rolname = any($1)',
      [p.roles],
    );
    for (const role of p.roles) {
      const row = res.rows.find((r) => r.rolname === role);
      if (!row) {
        const other = p.roles.find((r) => r !== role);
        throw permanent(
          ErrorTypes.invalidInput,
          `PostgreSQL role '${role}' does not exist on ${describeTarget(targetOf(p))}: create it with the same grants as '${other}'`,
        );
      }
      if (row.rolsuper)
        throw permanent(
          ErrorTypes.invalidInput,
          `PostgreSQL role '${role}' is a superuser; rotor does not rotate superusers by alternating users`,
        );
    }
  }

  function roleOf(p: PostgresCredential, cred: UserPassword, what: string): string {
    if (!p.roles.includes(cred.username)) {
      throw permanent(
        ErrorTypes.invalidInput,
        `${what} is for role '${cred.username}', which is not one of roles [${p.roles.join(', ')}]`,
      );
    }
    return cred.username;
  }

  /** Replaces the password with one nobody knows and removes LOGIN, then ends the role's sessions. */
  async function lock(p: PostgresCredential, role: string): Promise<number> {
    return withAdmin(p, async (c) => {
      await checkRoles(c, p);
      await c.query(
        `ALTER ROLE ${pg.escapeIdentifier(role)} WITH NOLOGIN PASSWORD ${pg.escapeLiteral(scramVerifier(newPassword(48)))}`,
      );
      const res = await c.query<{ n: number }>(
        'select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity where usename = $1 and pid <> pg_backend_pid()',
        [role],
      );
      return res.rows[0]?.n ?? 0;
    });
  }

  return {
    async create(p, { currentValue }) {
      const current = roleOf(p, parseUserPassword(currentValue, 'the current value'), 'the current value');
      const next = p.roles[0] === current ? p.roles[1] : p.roles[0];
      const password = newPassword(p.length);
      await withAdmin(p, async (c) => {
        await checkRoles(c, p);
        await c.query(
          `ALTER ROLE ${pg.escapeIdentifier(next)} WITH LOGIN PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`,
        );
      });
      return JSON.stringify({ username: next, password });
    },

    async discard(p, { pendingValue, currentValue }) {
      const pending = roleOf(p, parseUserPassword(pendingValue, 'the pending value'), 'the pending value');
      const current = parseUserPassword(currentValue, 'the current value').username;
      // The current role keeps serving; only a role distinct from it can be locked.
      if (pending === current) return;
      await lock(p, pending);
    },

    async revoke(p, { oldValue, currentValue }): Promise<RevocationEvidence> {
      const old = parseUserPassword(oldValue, 'the old value');
      const current = parseUserPassword(currentValue, 'the current value');
      roleOf(p, old, 'the old value');
      if (old.username === current.username) {
        return {
          rejected: false,
          detail: `old and current credentials are both for role '${old.username}'; not locking the role in use`,
        };
      }
      const terminated = await lock(p, old.username);
      const target = targetOf(p);
      const where = describeTarget(target);
      const oldLogin = await tryPostgresLogin(target, old, { timeoutMs: proofTimeoutMs });
      if (!oldLogin.ok && !oldLogin.refused) {
        // Unreachable server or timeout proves nothing; retrying the (idempotent) revoke will.
        throw retryable(
          RetryableErrorTypes.postgres,
          `locked role '${old.username}' but could not check the old password on ${where}: ${oldLogin.code ?? ''} ${oldLogin.message}`.trim(),
        );
      }
      const newLogin = await tryPostgresLogin(target, current, { timeoutMs: proofTimeoutMs });
      const locked = `role '${old.username}' locked (NOLOGIN, password replaced), ${terminated} session(s) terminated`;
      return loginEvidence(locked, where, { cred: old, login: oldLogin }, { cred: current, login: newLogin });
    },
  };
}
