import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { useStackEnv } from './stack-env';

/** Runs `fn` on a superuser connection to the stack's PostgreSQL (PG* env), always closing it. */
export async function withPgAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  useStackEnv();
  const c = new pg.Client();
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Two roles with the same grant on `table`, as the alternating-users strategy needs: `a` logs in
 * with a known password (returned as the stored JSON value), `b` is locked.
 */
export async function createRolePair(
  a: string,
  b: string,
  table: string,
): Promise<{ initial: string; password: string }> {
  const password = randomBytes(18).toString('base64url');
  await withPgAdmin(async (c) => {
    await c.query(`CREATE ROLE ${pg.escapeIdentifier(a)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
    await c.query(`CREATE ROLE ${pg.escapeIdentifier(b)} NOLOGIN`);
    await c.query(`GRANT SELECT ON ${table} TO ${pg.escapeIdentifier(a)}, ${pg.escapeIdentifier(b)}`);
  });
  return { initial: JSON.stringify({ username: a, password }), password };
}
